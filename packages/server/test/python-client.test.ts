import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoResult, runDemo } from '../src/cli/commands/demo.js';
import { startTestServer, type TestServer } from '../src/testing/harness.js';

/**
 * docs/examples/platform_client.py, run by Debian's python3 with python3-httpx (scripts/services.sh
 * ensure_python_httpx installs it), against a real server seeded by `labeler demo`'s code.
 */
const CLIENT = fileURLToPath(new URL('../../../docs/examples/platform_client.py', import.meta.url));
const PYTHON = process.env.LABELER_PYTHON ?? '/usr/bin/python3';

function python(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(PYTHON, [CLIENT, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += String(c);
    });
    child.stderr.on('data', (c) => {
      stderr += String(c);
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

// Fails loudly (a failing test, never a skip) when the interpreter or httpx is missing; the suites below
// then fail too, each with python's ImportError in its message.
it(`${PYTHON} can import httpx`, () => {
  let failure = '';
  try {
    execFileSync(PYTHON, ['-c', 'import httpx'], { stdio: 'pipe' });
  } catch (error) {
    failure = `${(error as Error).message}: install python3-httpx (scripts/services.sh ensure_python_httpx)`;
  }
  expect(failure).toBe('');
});

function suite(name: string, options: { pglite?: boolean }) {
  describe(name, () => {
    let server: TestServer;
    let demo: DemoResult;
    let tmp: string;

    beforeAll(async () => {
      server = await startTestServer(options);
      tmp = mkdtempSync(join(tmpdir(), 'labeler-python-'));
      demo = await runDemo(server.services, { newKey: false, ownerId: 1 });
    }, 120_000);
    afterAll(async () => {
      await server?.stop();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    it('runs the training-job flow: dataset, ETag, permission, 202 → Retry-After → URL, download', async () => {
      const coco = demo.datasets.find((d) => d.format === 'coco');
      expect(coco).toBeDefined();
      const env = { LABELER_API_URL: server.url, LABELER_SERVICE_KEY: demo.service_account.api_key ?? '' };
      const out = join(tmp, 'coco.zip');
      const res = await python([coco?.id ?? '', '--user-id', '1', '--out', out, '--max-wait', '120'], env);
      expect(res.code, `${res.stdout}\n${res.stderr}`).toBe(0);
      const lines = res.stdout.trim().split('\n');
      expect(lines[0]).toMatch(
        new RegExp(
          `^dataset ${coco?.id} name=demo-shapes-coco format=coco num_images=12 version=\\d+ rate-limit-remaining=\\d+$`,
        ),
      );
      expect(lines[1]).toBe('etag revalidation: 304');
      expect(lines[2]).toBe('permission user=1 has_access=True role=owner reason=owner');
      // A fresh dataset has no archive yet: at least one 202 before the URL.
      const building = lines.filter((l) => l.startsWith('download-url: 202 building job=job_'));
      expect(building.length).toBeGreaterThanOrEqual(1);
      expect(lines).toContainEqual(expect.stringMatching(/^download-url: ready version=\d+ size_bytes=\d+$/));
      expect(lines).toContainEqual(
        expect.stringMatching(/^archive \d+ bytes: \d+ entries, 12 images, annotations=\S+$/),
      );
      expect(lines.at(-2)).toBe('missing dataset: 404 DATASET_NOT_FOUND');
      expect(lines.at(-1)).toBe('ok');
    }, 180_000);

    it('asks for the URL with a body-less POST when no user is named (the archive is built by now)', async () => {
      const coco = demo.datasets.find((d) => d.format === 'coco');
      const env = { LABELER_API_URL: server.url, LABELER_SERVICE_KEY: demo.service_account.api_key ?? '' };
      const res = await python([coco?.id ?? '', '--out', join(tmp, 'again.zip')], env);
      expect(res.code, `${res.stdout}\n${res.stderr}`).toBe(0);
      const lines = res.stdout.trim().split('\n');
      expect(lines.filter((l) => l.startsWith('permission'))).toEqual([]);
      expect(lines.filter((l) => l.includes(': 202 '))).toEqual([]);
      expect(lines).toContainEqual(expect.stringMatching(/^download-url: ready /));
      expect(lines.at(-1)).toBe('ok');
    }, 120_000);

    it('a refused key ends with the envelope code, not a traceback of a retry loop', async () => {
      const coco = demo.datasets.find((d) => d.format === 'coco');
      const res = await python([coco?.id ?? ''], {
        LABELER_API_URL: server.url,
        LABELER_SERVICE_KEY: 'lbl_sa_not-a-real-key',
      });
      expect(res.code).not.toBe(0);
      expect(res.stderr).toContain('LabelerError: 401 UNAUTHENTICATED');
      expect(res.stderr).not.toContain('retry:');
    });
  });
}

suite('python client against PostgreSQL', {});
// `npm start`'s way of running: embedded PGlite and local-disk storage.
suite('python client against PGlite + local disk (npm start)', { pglite: true });
