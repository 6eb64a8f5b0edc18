import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sample } from '@labeler/core';
import { createFiftyOneConnector } from '@labeler/plugin-fiftyone';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoResult } from '../src/cli/commands/demo.js';
import { migrate, openDatabase } from '../src/db/orm.js';
import { createTestDatabase, type TestDatabase } from '../src/testing/database.js';
import { startTestServer, type TestServer } from '../src/testing/harness.js';

const BIN = fileURLToPath(new URL('../bin/labeler.js', import.meta.url));
/** What demo-images.ts paints each class with. */
const COLOR: Record<string, [number, number, number]> = {
  circle: [220, 50, 47],
  square: [38, 139, 210],
  triangle: [133, 153, 0],
};

let db: TestDatabase;
let dataDir: string;
let server: TestServer;

function labeler(args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: {
        ...process.env,
        LABELER_CLI_FROM_SOURCE: '1',
        DATABASE_URL: db.url,
        LABELER_DATA_DIR: dataDir,
        LABELER_SECRET_KEY: 'demo-test-secret-key-with-32-characters!',
        LOG_LEVEL: 'silent',
      },
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

/** The pixel colour at the centre of a relative box. */
function colorAt(png: PNG, box: [number, number, number, number]): [number, number, number] {
  const x = Math.floor((box[0] + box[2] / 2) * png.width);
  const y = Math.floor((box[1] + box[3] * 0.75) * png.height); // lower half: inside a triangle too
  const at = (y * png.width + x) * 4;
  return [png.data[at] ?? -1, png.data[at + 1] ?? -1, png.data[at + 2] ?? -1];
}

let first: DemoResult;
let interruptedId: string;

beforeAll(async () => {
  db = await createTestDatabase('labeler_demo');
  dataDir = mkdtempSync(join(tmpdir(), 'labeler-demo-test-'));
  const orm = await openDatabase({ databaseUrl: db.url, pgliteDataDir: join(dataDir, 'db') });
  await migrate(orm);
  await orm.close(true);
  // A server on the same database and data dir (local-disk storage): what the Platform would call.
  server = await startTestServer({ databaseUrl: db.url, env: { LABELER_DATA_DIR: dataDir } });
  // An earlier run cut off after creating this dataset, before its import: the demo must fill it.
  const interrupted = await server.request('/api/v1/datasets', {
    body: { name: 'demo-shapes-yolo', format: 'yolo', owner_id: 1, tags: ['labeler-demo'] },
  });
  expect(interrupted.status, interrupted.text).toBe(201);
  interruptedId = (interrupted.body as { id: string }).id;
  const res = await labeler(['--json', 'demo']);
  expect(res.code, res.stderr).toBe(0);
  first = JSON.parse(res.stdout);
}, 120_000);
afterAll(async () => {
  await server?.stop();
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('labeler demo', () => {
  it('seeds a COCO, a YOLO and an image-folder dataset and a Platform key with the three read scopes', async () => {
    expect(first.datasets.map((d) => [d.format, d.reused, d.num_images])).toEqual([
      ['coco', false, 12],
      ['yolo', false, 12],
      ['imagefolder', false, 12],
    ]);
    expect(first.datasets[1]?.id).toBe(interruptedId);
    const sa = first.service_account;
    expect(sa.action).toBe('created');
    expect(sa.api_key).toMatch(/^lbl_sa_/);
    expect(sa.scopes).toEqual(['datasets:read', 'datasets:download', 'datasets:permissions']);

    const key = sa.api_key as string;
    for (const d of first.datasets) {
      const got = await server.request(`/api/v1/datasets/${d.id}`, { token: key });
      expect(got.status, got.text).toBe(200);
      expect(got.body).toMatchObject({
        id: d.id,
        format: d.format,
        labeled: true,
        num_images: 12,
        class_names: ['circle', 'square', 'triangle'],
      });
      const permission = await server.request(`/api/v1/datasets/${d.id}/permissions/1`, { token: key });
      expect(permission.status, permission.text).toBe(200);
      expect(permission.body).toMatchObject({ has_access: true });
    }
    // The key reads, it does not write.
    const write = await server.request('/api/v1/datasets', {
      method: 'POST',
      token: key,
      body: { name: 'x', format: 'coco', owner_id: 1 },
    });
    expect(write.status).toBe(403);
  });

  it('uploads real images whose labels match the shapes drawn (read back from storage in each format)', async () => {
    for (const d of first.datasets) {
      const out = join(dataDir, `export-${d.format}`);
      const exported = await labeler(['dataset', 'export', d.id, out]);
      expect(exported.code, exported.stderr).toBe(0);
      const connector = createFiftyOneConnector();
      expect(await connector.detectFormat(out)).toBe(d.format);
      const samples: Sample[] = [];
      for await (const s of connector.readSamples({ path: out, format: d.format })) samples.push(s);
      expect(samples).toHaveLength(12);
      let checked = 0;
      for (const sample of samples) {
        const png = PNG.sync.read(readFileSync(sample.filepath));
        expect([png.width, png.height]).toEqual([128, 96]);
        const value = sample.labels.ground_truth;
        if (d.format === 'imagefolder') {
          expect(value?._cls).toBe('Classification');
          if (value?._cls !== 'Classification') continue;
          // One shape per image: some pixel has the class's colour, none another class's.
          const colors = new Set<string>();
          for (let i = 0; i < png.data.length; i += 4)
            colors.add(`${png.data[i]},${png.data[i + 1]},${png.data[i + 2]}`);
          for (const [label, rgb] of Object.entries(COLOR))
            expect(colors.has(rgb.join(',')), `${sample.filepath} ${label}`).toBe(label === value.label);
          checked++;
          continue;
        }
        expect(value?._cls).toBe('Detections');
        if (value?._cls !== 'Detections') continue;
        expect(value.detections.length).toBeGreaterThanOrEqual(1);
        for (const detection of value.detections) {
          expect(colorAt(png, detection.bounding_box), `${sample.filepath} ${detection.label}`).toEqual(
            COLOR[detection.label],
          );
          checked++;
        }
      }
      expect(checked).toBeGreaterThanOrEqual(12);
    }
  });

  it('a second run reuses the datasets and the account, and prints no key', async () => {
    const again = await labeler(['demo']);
    expect(again.code, again.stderr).toBe(0);
    for (const d of first.datasets) expect(again.stdout).toMatch(new RegExp(`reused\\s+${d.id}`));
    expect(again.stdout).toContain('reused');
    expect(again.stdout).not.toMatch(/lbl_sa_/);

    const json = JSON.parse((await labeler(['--json', 'demo'])).stdout) as DemoResult;
    expect(json.datasets.map((d) => [d.id, d.reused, d.version])).toEqual(
      first.datasets.map((d) => [d.id, true, d.version]),
    );
    expect(json.service_account).toEqual({
      id: first.service_account.id,
      name: 'platform-demo',
      scopes: first.service_account.scopes,
      action: 'reused',
    });
    const list = await server.request('/api/v1/datasets?tags=labeler-demo&limit=50');
    expect((list.body as { total: number }).total).toBe(3);
    const accounts = await server.request('/api/v1/auth/service-accounts');
    const rows = (accounts.body as { service_accounts: Array<{ name: string }> }).service_accounts;
    expect(rows.filter((a) => a.name === 'platform-demo')).toHaveLength(1);
  });

  it('--new-key issues a new key for the same account; the old one stops working', async () => {
    const oldKey = first.service_account.api_key as string;
    const res = await labeler(['--json', 'demo', '--new-key']);
    expect(res.code, res.stderr).toBe(0);
    const rotated = JSON.parse(res.stdout) as DemoResult;
    expect(rotated.service_account.action).toBe('rotated');
    expect(rotated.service_account.id).toBe(first.service_account.id);
    const newKey = rotated.service_account.api_key as string;
    expect(newKey).toMatch(/^lbl_sa_/);
    expect(newKey).not.toBe(oldKey);
    const id = first.datasets[0]?.id;
    expect((await server.request(`/api/v1/datasets/${id}`, { token: newKey })).status).toBe(200);
    expect((await server.request(`/api/v1/datasets/${id}`, { token: oldKey })).status).toBe(401);
  });
});
