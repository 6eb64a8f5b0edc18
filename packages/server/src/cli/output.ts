import { isLabelerError } from '@labeler/core';
import cliProgress from 'cli-progress';

export interface Output {
  json: boolean;
  /** Prints a result: JSON when --json, else the text form. */
  result(value: unknown, text?: () => string): void;
  info(message: string): void;
  progress(
    total: number | null,
    label: string,
  ): { update(done: number, total?: number | null, message?: string): void; stop(): void };
}

export function createOutput(json: boolean): Output {
  const interactive = !json && process.stderr.isTTY;
  return {
    json,
    result(value, text) {
      if (json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      else process.stdout.write(`${text ? text() : JSON.stringify(value, null, 2)}\n`);
    },
    info(message) {
      if (!json) process.stderr.write(`${message}\n`);
    },
    progress(total, label) {
      if (!interactive) {
        let last = 0;
        return {
          update(done, t, message) {
            if (!json && Date.now() - last > 2000) {
              last = Date.now();
              process.stderr.write(
                `${label}: ${done}${(t ?? total) ? `/${t ?? total}` : ''}${message ? ` ${message}` : ''}\n`,
              );
            }
          },
          stop() {},
        };
      }
      const bar = new cliProgress.SingleBar(
        {
          format: `${label} [{bar}] {percentage}% | {value}/{total} | {message}`,
          hideCursor: true,
          clearOnComplete: false,
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total ?? 0, 0, { message: '' });
      return {
        update(done, t, message) {
          if (t !== undefined && t !== null) bar.setTotal(t);
          bar.update(done, { message: (message ?? '').slice(0, 40) });
        },
        stop() {
          bar.stop();
        },
      };
    },
  };
}

/** Exit codes: 0 ok, 1 operation failed, 2 bad usage or configuration, 3 preflight found problems. */
export const EXIT = { ok: 0, failed: 1, usage: 2, preflight: 3 } as const;

export function reportError(error: unknown, json: boolean): number {
  if (isLabelerError(error)) {
    if (json) process.stdout.write(`${JSON.stringify({ error: error.toJSON() }, null, 2)}\n`);
    else process.stderr.write(`error ${error.code}: ${error.message}\n`);
    return error.status >= 400 && error.status < 500 && error.code !== 'PREFLIGHT_FAILED'
      ? EXIT.usage
      : error.code === 'PREFLIGHT_FAILED'
        ? EXIT.preflight
        : EXIT.failed;
  }
  const message = (error as Error)?.message ?? String(error);
  if (json)
    process.stdout.write(`${JSON.stringify({ error: { code: 'INTERNAL_ERROR', message } }, null, 2)}\n`);
  else process.stderr.write(`error: ${message}\n`);
  return EXIT.failed;
}
