/**
 * Archive benchmark (issue: R2 storage plugin, dataset files and archives). Uploads a dataset of
 * BENCH_ARCHIVE_MB megabytes (default 2048) to the SigV4-verifying S3 test server through the R2 plugin,
 * then builds its archive.zip in a separate server process and reports:
 *  - archive throughput as a ratio to a raw multipart upload of the same bytes to the same server, measured
 *    in this run (target >= 0.7);
 *  - the building process's peak RSS, and its growth over the idle process (target: under 200 MB).
 * The building process runs the built server (dist) with the production Node flags (src/node-flags.ts):
 * run `pnpm build` first (`pnpm bench` does).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { startS3TestServer } from '@labeler/plugin-r2/testing';
import { type BenchRow, writeBenchResult } from '../../../bench/report.js';
import { createServices, shutdownServices } from '../src/app/create.js';
import { loadConfig } from '../src/config/env.js';
import { createLogger } from '../src/lib/logger.js';
import { PRODUCTION_NODE_FLAGS } from '../src/node-flags.js';
import { createTestDatabase } from '../src/testing/database.js';

const TOTAL_MB = Number(process.env.BENCH_ARCHIVE_MB ?? 2048);
const FILE_MB = 32;
const FILES = Math.max(1, Math.round(TOTAL_MB / FILE_MB));
const MB = 1024 * 1024;

/** A stream of `bytes` bytes made of a repeated 1 MiB pseudo-random block (incompressible enough). */
function bytesStream(bytes: number, seed: number): Readable {
  const block = Buffer.alloc(MB);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < block.length; i += 4) {
    x = (x * 1103515245 + 12345) >>> 0;
    block.writeUInt32LE(x, i);
  }
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= bytes) return this.push(null);
      const n = Math.min(MB, bytes - sent);
      sent += n;
      this.push(n === MB ? block : block.subarray(0, n));
    },
  });
}

async function main() {
  const s3 = await startS3TestServer();
  const db = await createTestDatabase('labeler_bench_archive');
  const env = {
    DATABASE_URL: db.url,
    LABELER_SECRET_KEY: 'bench-secret-key-with-at-least-32-characters',
    NODE_ENV: 'production',
  };
  const config = loadConfig({
    ...env,
    LABELER_DATA_DIR: mkdtempSync(join(tmpdir(), 'labeler-bench-')),
    LOG_LEVEL: 'silent',
  });
  const app = await createServices(config, { workers: false, logger: createLogger('silent') });
  try {
    const r2 = await app.plugins.create({
      pluginId: 'r2',
      name: 'bench-r2',
      config: s3.pluginConfig,
      isDefault: true,
    });
    const storage = await app.plugins.get(r2.id, 'storage');
    const actor = {
      kind: 'system' as const,
      id: 'bench',
      name: 'bench',
      organizationId: null,
      roles: [],
      scopes: ['admin' as const],
      authenticatedBy: 'bench',
    };
    const dataset = await app.datasets.create(
      {
        name: 'archive-bench',
        format: 'coco',
        labeled: false,
        class_names: [],
        tags: [],
        visibility: 'private',
        owner_id: 1,
      },
      actor,
      { instanceId: r2.id, storageType: 'r2' },
    );
    console.log(`uploading ${FILES} files × ${FILE_MB} MiB…`);
    async function* files() {
      for (let i = 0; i < FILES; i++)
        yield {
          path: `images/${String(i).padStart(5, '0')}.jpg`,
          open: () => bytesStream(FILE_MB * MB, i),
          size: FILE_MB * MB,
        };
    }
    const imported = await app.storageFiles.importFiles(dataset.id, files(), actor);
    const totalBytes = FILES * FILE_MB * MB;

    const raw = async (n: number) => {
      const started = performance.now();
      await storage.put(`bench/raw-${n}.bin`, bytesStream(totalBytes, n), {
        contentType: 'application/octet-stream',
      });
      const ms = performance.now() - started;
      await storage.delete(`bench/raw-${n}.bin`);
      return ms;
    };
    console.log('raw multipart upload (baseline)…');
    const rawBefore = await raw(1);

    console.log('building the archive in a separate server process…');
    const child = spawn(
      process.execPath,
      // The flags production starts the server with, plus gc() for a settled idle measurement.
      [
        ...PRODUCTION_NODE_FLAGS,
        '--expose-gc',
        fileURLToPath(new URL('./fixtures/archive-child.mjs', import.meta.url)),
      ],
      {
        env: {
          ...process.env,
          ...env,
          DATASET_ID: dataset.id,
          DATASET_VERSION: String(imported.version.version),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (c) => {
      out += String(c);
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const match = /RESULT (\{.*\})/.exec(out);
    if (code !== 0 || !match) throw new Error(`archive child failed (${code}): ${out.slice(-2000)}`);
    const archive = JSON.parse(match[1]!) as {
      ms: number;
      idleRss: number;
      peakRss: number;
      sizeBytes: number;
      files: number;
      execArgv: string[];
    };
    const unapplied = PRODUCTION_NODE_FLAGS.filter((flag) => !archive.execArgv.includes(flag));
    if (unapplied.length) throw new Error(`archive child ran without ${unapplied.join(' ')}`);

    const rawAfter = await raw(2);
    const rawMs = (rawBefore + rawAfter) / 2;
    const rawThroughput = totalBytes / MB / (rawMs / 1000);
    const archiveThroughput = archive.sizeBytes / MB / (archive.ms / 1000);
    const growthMb = (archive.peakRss - archive.idleRss) / MB;
    const rows: BenchRow[] = [
      {
        metric: 'archive build throughput',
        value: archiveThroughput,
        unit: 'MiB/s',
        baseline: rawThroughput,
        ratio: archiveThroughput / rawThroughput,
        target: '>= 0.7x raw multipart upload',
        pass: archiveThroughput / rawThroughput >= 0.7,
      },
      {
        metric: 'archive build time',
        value: archive.ms / 1000,
        unit: 's',
        baseline: rawMs / 1000,
        ratio: archive.ms / rawMs,
      },
      {
        metric: 'archive size',
        value: archive.sizeBytes / MB,
        unit: 'MiB',
        baseline: totalBytes / MB,
        ratio: archive.sizeBytes / totalBytes,
      },
      {
        metric: 'building process peak RSS',
        value: archive.peakRss / MB,
        unit: 'MiB',
        baseline: archive.idleRss / MB,
        ratio: archive.peakRss / archive.idleRss,
        // The "200 MB", in bytes (190.7 MiB).
        target: '< 200 MB (190.7 MiB)',
        pass: archive.peakRss < 200e6,
      },
      {
        metric: 'RSS growth while building',
        value: growthMb,
        unit: 'MiB',
        baseline: null,
        ratio: null,
        target: '< 200 MiB',
        pass: growthMb < 200,
      },
    ];
    writeBenchResult('archive', rows, {
      dataset_mib: totalBytes / MB,
      files: FILES,
      file_mib: FILE_MB,
      raw_upload_ms: [rawBefore, rawAfter],
      archive_ms: archive.ms,
      node_flags: archive.execArgv,
    });
  } finally {
    await shutdownServices(app);
    await s3.close();
    await db.drop().catch(() => undefined);
  }
}

try {
  await main();
  process.exit(0);
} catch (error) {
  console.error(error);
  process.exit(1);
}
