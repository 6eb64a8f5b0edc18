/**
 * The real Label Studio target: LABELSTUDIO_URL/LABELSTUDIO_TOKEN from the environment (scripts/services.sh
 * exports them), else one started here with shared/labelstudio/start.sh on a free port of its own (so two
 * test runs never share a database) and stopped afterwards. Missing scripts fail loudly: never a skip.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ContractTarget } from './target.js';

const run = promisify(execFile);
const LOGIN = { email: 'admin@labelstudio.local', password: 'labelstudio-admin' };

/** `shared/labelstudio` next to the repository (CI) or next to one of its parents (a worktree). */
export function findLabelStudioScripts(): string {
  if (process.env.LABELSTUDIO_SCRIPTS) return process.env.LABELSTUDIO_SCRIPTS;
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'shared', 'labelstudio');
    if (existsSync(join(candidate, 'start.sh'))) return candidate;
  }
  throw new Error(
    'The real Label Studio tests need shared/labelstudio/start.sh next to the repository (or LABELSTUDIO_URL and LABELSTUDIO_TOKEN set); none was found.',
  );
}

const portFree = (port: number): Promise<boolean> =>
  new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });

async function freePort(from: number): Promise<number> {
  for (let port = from; port < from + 200; port++) if (await portFree(port)) return port;
  throw new Error(`no free port for Label Studio in ${from}–${from + 199}`);
}

async function versionOf(url: string): Promise<string> {
  const body = (await (await fetch(`${url}/api/version`)).json()) as { release?: string };
  return body.release ?? 'unknown';
}

export interface RealLabelStudio {
  target: ContractTarget;
  stop(): Promise<void>;
}

export async function startRealLabelStudio(): Promise<RealLabelStudio> {
  const envUrl = process.env.LABELSTUDIO_URL;
  if (envUrl && process.env.LABELSTUDIO_TOKEN) {
    const documentRoot =
      process.env.LABELSTUDIO_DOCUMENT_ROOT ??
      join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'labeler-labelstudio', 'files');
    return {
      target: {
        name: 'real',
        url: envUrl.replace(/\/+$/, ''),
        token: process.env.LABELSTUDIO_TOKEN,
        version: await versionOf(envUrl),
        documentRoot,
        login: LOGIN,
      },
      stop: async () => {},
    };
  }
  const scripts = findLabelStudioScripts();
  const port = await freePort(Number(process.env.LABELSTUDIO_TEST_PORT ?? 8096));
  const documentRoot = resolve(mkdtempSync(join(tmpdir(), 'ls-real-root-')));
  const env = {
    ...process.env,
    LABELSTUDIO_PORT: String(port),
    LABELSTUDIO_FRESH: '1',
    LABELSTUDIO_DOCUMENT_ROOT: documentRoot,
  };
  const { stdout } = await run('bash', [join(scripts, 'start.sh')], { env, timeout: 300_000 });
  const vars = Object.fromEntries(
    stdout
      .split('\n')
      .filter((l) => l.startsWith('LABELSTUDIO_'))
      .map((l) => l.split(/=(.*)/s, 2) as [string, string]),
  );
  const url = vars.LABELSTUDIO_URL;
  const token = vars.LABELSTUDIO_TOKEN;
  if (!url || !token) throw new Error(`start.sh printed no LABELSTUDIO_URL/LABELSTUDIO_TOKEN:\n${stdout}`);
  return {
    target: { name: 'real', url, token, version: await versionOf(url), documentRoot, login: LOGIN },
    stop: async () => {
      await run('bash', [join(scripts, 'stop.sh')], { env });
    },
  };
}
