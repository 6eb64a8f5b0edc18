import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { R2ConfigInput } from '../config.js';

const require = createRequire(import.meta.url);

/**
 * Runs inside the child process. Two s3rver 5.0.0 defects are worked around here, contained to this
 * process:
 * - ListObjectsV2 continuation tokens are DES-encrypted; Node 22's OpenSSL 3 offers DES only with
 *   --openssl-legacy-provider (without it, page 2 of any listing is a 500 InternalError).
 * - Keys in XML responses are escaped twice (he.escape, then the XML builder): "a&b" lists as "a&amp;b".
 *   Making he.escape a no-op leaves the builder's single, correct escaping.
 * Neither touches authentication: SigV4 is verified exactly as before.
 */
const CHILD_SCRIPT = `
const cfg = JSON.parse(process.env.LABELER_S3RVER_CONFIG);
const he = require(cfg.hePath);
he.escape = (value) => String(value);
const S3rver = require(cfg.s3rverPath);
const accounts = require(cfg.accountPath);
accounts.DUMMY_ACCOUNT.createKeyPair(cfg.accessKeyId, cfg.secretAccessKey);
if (cfg.accessKeyId !== 'S3RVER') accounts.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
const server = new S3rver({ address: '127.0.0.1', port: cfg.port, silent: true, directory: cfg.directory, configureBuckets: [{ name: cfg.bucket }] });
server.run().then(
  (address) => process.send({ type: 'ready', port: address.port }),
  (error) => { process.send({ type: 'error', message: String((error && error.stack) || error) }); process.exit(1); },
);
process.on('disconnect', () => process.exit(0));
`;

const readyMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), port: z.number().int() }),
  z.object({ type: z.literal('error'), message: z.string() }),
]);

export interface S3TestServerOptions {
  /** Bucket created at start (default "labeler-test"). */
  bucket?: string;
  /** Credentials the server accepts (default: random per server, so a wrong secret is really refused). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Data directory (default: a new temp directory, removed by close()). */
  directory?: string;
  /** Port (default: an ephemeral one). */
  port?: number;
  /** Milliseconds to wait for the server to start (default 15 000). */
  startTimeoutMs?: number;
}

export interface S3TestServer {
  /** e.g. http://127.0.0.1:38211 */
  endpoint: string;
  port: number;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  directory: string;
  /** Ready-to-use r2 plugin config: path style, the s3rver bucket-path fix, fast-failing timeouts. */
  pluginConfig: R2ConfigInput;
  /** Stops the server (its process ends, every connection drops); data stays. For outage tests. */
  stop(): Promise<void>;
  /** Starts again on the same port with the same data. */
  restart(): Promise<void>;
  /** Stops and removes the data directory if this function created it. */
  close(): Promise<void>;
}

interface ChildConfig {
  hePath: string;
  s3rverPath: string;
  accountPath: string;
  port: number;
  directory: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

async function spawnServer(
  config: ChildConfig,
  timeoutMs: number,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD_SCRIPT], {
    env: { ...process.env, NODE_OPTIONS: '', LABELER_S3RVER_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const timer = AbortSignal.timeout(timeoutMs);
  try {
    const [message] = await Promise.race([
      once(child, 'message', { signal: timer }),
      once(child, 'exit', { signal: timer }).then(([code]) => {
        throw new Error(`S3 test server exited with code ${String(code)} before it was ready: ${stderr}`);
      }),
    ]);
    const parsed = readyMessage.parse(message);
    if (parsed.type === 'error') throw new Error(`S3 test server failed to start: ${parsed.message}`);
    // Let the test process exit even if close() is forgotten; the child exits when the channel closes.
    child.unref();
    child.channel?.unref();
    return { child, port: parsed.port };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

/**
 * Starts @20minutes/s3rver (verifies SigV4, unlike s3rver 3.x) on 127.0.0.1 in a child process, with a
 * bucket. Use in tests and benchmarks of anything that talks to R2 through the r2 plugin.
 */
export async function startS3TestServer(options: S3TestServerOptions = {}): Promise<S3TestServer> {
  const s3rverPath = require.resolve('@20minutes/s3rver');
  const s3rverRequire = createRequire(s3rverPath);
  const bucket = options.bucket ?? 'labeler-test';
  const accessKeyId = options.accessKeyId ?? `TEST${randomBytes(8).toString('hex').toUpperCase()}`;
  const secretAccessKey = options.secretAccessKey ?? randomBytes(24).toString('base64url');
  const ownsDirectory = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(path.join(tmpdir(), 'labeler-s3rver-')));
  const timeoutMs = options.startTimeoutMs ?? 15_000;
  const config: ChildConfig = {
    hePath: s3rverRequire.resolve('he'),
    s3rverPath,
    accountPath: s3rverRequire.resolve('./models/account.js'),
    port: options.port ?? 0,
    directory,
    bucket,
    accessKeyId,
    secretAccessKey,
  };

  let child: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    const started = await spawnServer(config, timeoutMs);
    config.port = started.port; // restart() reuses the port
    child = started.child;
  };
  const stop = async (): Promise<void> => {
    const running = child;
    if (!running) return;
    child = null;
    if (running.exitCode === null && running.signalCode === null) {
      const exited = once(running, 'exit');
      // The child is unref'd so a forgotten close() never holds a process open; while we wait for its
      // exit it must keep the event loop alive, or a script awaiting stop() ends before it settles.
      running.ref();
      running.kill('SIGKILL'); // an abrupt outage: the kernel drops every connection
      await exited;
    }
  };

  await start();
  const endpoint = `http://127.0.0.1:${config.port}`;
  return {
    endpoint,
    port: config.port,
    bucket,
    accessKeyId,
    secretAccessKey,
    region: 'auto',
    directory,
    pluginConfig: {
      endpoint,
      bucket,
      accessKeyId,
      secretAccessKey,
      region: 'auto',
      forcePathStyle: true,
      bucketPathWithoutTrailingSlash: true,
      connectionTimeoutMs: 1_000,
      maxAttempts: 2,
    },
    stop,
    async restart() {
      await stop();
      await start();
    },
    async close() {
      await stop();
      if (ownsDirectory) await rm(directory, { recursive: true, force: true });
    },
  };
}
