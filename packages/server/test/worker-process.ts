import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  exited: Promise<unknown>;
}

/** A job worker process (test/fixtures/jobs-worker.ts, the test job kinds) on the given database. */
export async function spawnWorker(databaseUrl: string, logLevel = 'warn'): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    ['--conditions=@labeler/source', '--import', 'tsx', join(here, 'fixtures/jobs-worker.ts')],
    {
      cwd: join(here, '..'),
      env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: logLevel },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
  });
  return { child, pid: child.pid ?? 0, exited };
}

/** SIGTERM, then waits for the exit (the worker hands running jobs back after its grace period). */
export async function stopWorker(worker: WorkerProcess | undefined): Promise<void> {
  if (!worker || worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.child.kill('SIGTERM');
  await worker.exited;
}
