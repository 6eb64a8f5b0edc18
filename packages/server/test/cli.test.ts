import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LabelStudioSimulator, startLabelStudioSimulator } from '@labeler/plugin-labelstudio/simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCliConfig } from '../src/cli/config.js';
import { CLI_PRINCIPAL } from '../src/cli/context.js';
import { migrate, openDatabase } from '../src/db/orm.js';
import { AuditService } from '../src/modules/audit/service.js';
import { OrganizationService } from '../src/modules/organizations/service.js';
import { createTestDatabase, type TestDatabase } from '../src/testing/database.js';

const BIN = fileURLToPath(new URL('../bin/labeler.js', import.meta.url));
let db: TestDatabase;
let dataDir: string;
let sim: LabelStudioSimulator;

/** Runs the real `labeler` binary (from sources) and collects its output and exit code. */
function labeler(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: {
        ...process.env,
        LABELER_CLI_FROM_SOURCE: '1',
        DATABASE_URL: db.url,
        LABELER_DATA_DIR: dataDir,
        LABELER_SECRET_KEY: 'cli-test-secret-key-with-32-characters!!',
        LOG_LEVEL: 'silent',
        ...env,
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

beforeAll(async () => {
  db = await createTestDatabase('labeler_cli');
  dataDir = mkdtempSync(join(tmpdir(), 'labeler-cli-'));
  sim = await startLabelStudioSimulator();
});
afterAll(async () => {
  await sim?.stop();
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('labeler CLI', () => {
  it('--help lists the commands', async () => {
    const res = await labeler(['--help']);
    expect(res.code).toBe(0);
    for (const command of [
      'serve',
      'migrate',
      'worker',
      'sa',
      'dataset',
      'ls',
      'push',
      'pull',
      'sync',
      'workflow',
    ])
      expect(res.stdout).toContain(command);
  });

  it('sa create | list | revoke with --json against the database', async () => {
    const created = await labeler([
      '--json',
      'sa',
      'create',
      'platform',
      '--scopes',
      'datasets:read,datasets:download',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const account = JSON.parse(created.stdout) as {
      service_account_id: string;
      api_key: string;
      scopes: string[];
    };
    expect(account.api_key).toMatch(/^lbl_sa_/);
    expect(account.scopes).toEqual(['datasets:read', 'datasets:download']);
    const listed = JSON.parse((await labeler(['--json', 'sa', 'list'])).stdout) as Array<{
      id: string;
      status: string;
      key_prefix: string;
    }>;
    expect(listed.find((a) => a.id === account.service_account_id)).toMatchObject({ status: 'active' });
    expect(JSON.stringify(listed)).not.toContain(account.api_key);
    const revoked = await labeler(['--json', 'sa', 'revoke', account.service_account_id]);
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ id: account.service_account_id, status: 'revoked' });
  });

  it('sa create --organization puts the key in that organization; an unknown one creates nothing', async () => {
    const orm = await openDatabase({ databaseUrl: db.url });
    let organizationId: string;
    try {
      await migrate(orm);
      const organizations = new OrganizationService(orm, new AuditService(orm));
      organizationId = (await organizations.create('CLI org', 'cli-org', CLI_PRINCIPAL)).id;
    } finally {
      await orm.close(true);
    }
    const created = await labeler([
      '--json',
      'sa',
      'create',
      'org-key',
      '--scopes',
      'datasets:read,datasets:write',
      '--organization',
      organizationId,
    ]);
    expect(created.code, created.stderr).toBe(0);
    const account = JSON.parse(created.stdout) as {
      service_account_id: string;
      organization_id: string | null;
    };
    expect(account.organization_id).toBe(organizationId);
    const listed = JSON.parse((await labeler(['--json', 'sa', 'list'])).stdout) as Array<{
      id: string;
      organization_id: string | null;
    }>;
    expect(listed.find((a) => a.id === account.service_account_id)?.organization_id).toBe(organizationId);

    const unknown = await labeler([
      '--json',
      'sa',
      'create',
      'ghost-key',
      '--organization',
      'org_doesnotexist00',
    ]);
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const after = JSON.parse((await labeler(['--json', 'sa', 'list'])).stdout) as Array<{ name: string }>;
    expect(after.map((a) => a.name)).not.toContain('ghost-key');
  });

  it('clear exit codes: bad usage and bad configuration are 2, an unknown id is a clean error', async () => {
    const badScope = await labeler(['sa', 'create', 'x', '--scopes', 'root']);
    expect(badScope.code).not.toBe(0);
    expect(badScope.stderr).toContain('unknown scope "root"');
    const badSet = await labeler(['--set', 'batch_size=lots', 'sa', 'list']);
    expect(badSet.code).toBe(2);
    expect(badSet.stderr).toContain('batch_size');
    const unknown = await labeler(['--json', 'sa', 'revoke', 'sa_doesnotexist']);
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ error: { code: 'SERVICE_ACCOUNT_NOT_FOUND' } });
    expect(unknown.stdout).not.toMatch(/\.ts:\d+/);
    const unknownCommand = await labeler(['frobnicate']);
    expect(unknownCommand.code).toBe(2);
  });

  it('dataset import registers files and the samples (ids and labels) of a COCO folder as a version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'labeler-import-'));
    mkdirSync(join(dir, 'data'));
    // A tiny COCO detection dataset (labels.json + data/) with two images.
    const png = (w: number, h: number) => {
      const b = Buffer.alloc(33);
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]).copy(
        b,
      );
      b.writeUInt32BE(w, 16);
      b.writeUInt32BE(h, 20);
      return b;
    };
    writeFileSync(join(dir, 'data', 'a.png'), png(100, 50));
    writeFileSync(join(dir, 'data', 'b.png'), png(40, 40));
    writeFileSync(
      join(dir, 'labels.json'),
      JSON.stringify({
        images: [
          { id: 1, file_name: 'a.png', width: 100, height: 50 },
          { id: 2, file_name: 'b.png', width: 40, height: 40 },
        ],
        annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [10, 10, 20, 20], area: 400, iscrowd: 0 }],
        categories: [
          { id: 1, name: 'bottle' },
          { id: 2, name: 'cap' },
        ],
      }),
    );
    const res = await labeler([
      '--json',
      'dataset',
      'import',
      dir,
      '--name',
      'coco-import',
      '--format',
      'coco',
      '--annotation-path',
      'labels.json',
    ]);
    expect(res.code, `${res.stdout}${res.stderr}`).toBe(0);
    const result = JSON.parse(res.stdout) as {
      dataset_id: string;
      imported: number;
      samples: number;
      version: number;
      content_hash: string;
    };
    expect(result).toMatchObject({ imported: 3, samples: 2, version: 2 });
    const again = JSON.parse(
      (await labeler(['--json', 'dataset', 'import', dir, '--dataset', result.dataset_id])).stdout,
    ) as typeof result;
    expect(again).toMatchObject({ imported: 0, samples: 2 });
    const pg = await import('pg');
    const client = new pg.default.Client({ connectionString: db.url });
    await client.connect();
    try {
      const samples = (
        await client.query(
          'select id, filepath, width, labels from dataset_sample where dataset_id = $1 order by filepath',
          [result.dataset_id],
        )
      ).rows;
      expect(samples.map((s) => s.filepath)).toEqual(['data/a.png', 'data/b.png']);
      expect(samples[0].width).toBe(100);
      expect(samples[0].labels.ground_truth.detections[0]).toMatchObject({ label: 'bottle' });
      const dataset = (
        await client.query('select class_names, num_images, annotation_path from dataset where id = $1', [
          result.dataset_id,
        ])
      ).rows[0];
      expect(dataset).toMatchObject({
        class_names: ['bottle', 'cap'],
        num_images: 2,
        annotation_path: `datasets/${result.dataset_id}/labels.json`,
      });
    } finally {
      await client.end();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ls test diagnoses Label Studio, and exits 1 with the fix when the token is bad', async () => {
    const ok = await labeler(['--json', 'ls', 'test'], {
      LABEL_STUDIO_URL: sim.url,
      LABEL_STUDIO_API_KEY: sim.legacyToken,
    });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, tokenKind: 'legacy' });
    const bad = await labeler(['ls', 'test'], {
      LABEL_STUDIO_URL: sim.url,
      LABEL_STUDIO_API_KEY: 'not-a-valid-token-0000000000',
    });
    expect(bad.code).not.toBe(0);
    expect(`${bad.stdout}${bad.stderr}`).toMatch(/token/i);
  });
});

describe('config precedence: defaults < file < env < --set', () => {
  it('each layer overrides the one before', () => {
    const dir = mkdtempSync(join(tmpdir(), 'labeler-cfg-'));
    const file = join(dir, 'labeler.json');
    writeFileSync(
      file,
      JSON.stringify({
        label_studio: { url: 'http://from-file:8080', api_key: 'file-key' },
        batch_size: 10,
        label_field: 'from_file',
      }),
    );
    const fileOnly = loadCliConfig({ configFile: file, env: {} });
    expect(fileOnly).toMatchObject({
      label_studio: { url: 'http://from-file:8080', api_key: 'file-key' },
      batch_size: 10,
      label_field: 'from_file',
      upload_strategy: 'sdk_batched',
    });
    const withEnv = loadCliConfig({
      configFile: file,
      env: { LABEL_STUDIO_URL: 'http://from-env:8080', LABEL_STUDIO_API_KEY: 'env-key' },
    });
    expect(withEnv.label_studio).toMatchObject({ url: 'http://from-env:8080', api_key: 'env-key' });
    const withSet = loadCliConfig({
      configFile: file,
      env: { LABEL_STUDIO_URL: 'http://from-env:8080' },
      set: ['label_studio.url=http://from-set:8080', 'batch_size=25'],
    });
    expect(withSet.label_studio.url).toBe('http://from-set:8080');
    expect(withSet.batch_size).toBe(25);
    expect(() => loadCliConfig({ configFile: join(dir, 'missing.json'), env: {} })).toThrow(/does not exist/);
    expect(() => loadCliConfig({ env: {}, set: ['upload_strategy=fastest'] })).toThrow(/upload_strategy/);
    rmSync(dir, { recursive: true, force: true });
  });
});
