import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * CLI configuration. Precedence: defaults < JSON config file (--config, LABELER_CONFIG or ./labeler.json)
 * < environment (LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY as Label Studio's own SDK reads them,
 * LABELER_* for the server) < --set key=value overrides (dotted keys).
 */
export const cliConfigSchema = z.object({
  label_studio: z
    .object({
      url: z.string().url().optional(),
      api_key: z.string().min(1).optional(),
      timeout_ms: z.coerce.number().int().min(100).max(600_000).default(30_000),
    })
    .default({ timeout_ms: 30_000 }),
  mount: z
    .object({
      host_root: z.string().optional(),
      ls_document_root: z.string().optional(),
      local_files_prefix: z.string().default('/data/local-files/?d='),
    })
    .default({ local_files_prefix: '/data/local-files/?d=' }),
  upload_strategy: z.enum(['sdk_batched', 'annotate_batched']).default('sdk_batched'),
  batch_size: z.coerce.number().int().min(1).max(1000).default(100),
  label_field: z.string().default('ground_truth'),
  /** Environment for the server part (DATABASE_URL, LABELER_DATA_DIR, …). */
  server: z.record(z.string(), z.string()).default({}),
});

export type CliConfig = z.infer<typeof cliConfigSchema>;

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

function parseValue(raw: string): unknown {
  if (raw === 'true' || raw === 'false') return raw === 'true';
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  return raw;
}

export class CliConfigError extends Error {}

export function loadCliConfig(options: {
  configFile?: string;
  set?: string[];
  env?: Record<string, string | undefined>;
}): CliConfig {
  const env = options.env ?? process.env;
  const merged: Record<string, unknown> = {};
  const file =
    options.configFile ?? env.LABELER_CONFIG ?? (existsSync('labeler.json') ? 'labeler.json' : undefined);
  if (file) {
    const path = resolve(file);
    if (!existsSync(path)) throw new CliConfigError(`Config file ${path} does not exist.`);
    try {
      Object.assign(merged, JSON.parse(readFileSync(path, 'utf8')));
    } catch (error) {
      throw new CliConfigError(`Config file ${path} is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (env.LABEL_STUDIO_URL) setPath(merged, 'label_studio.url', env.LABEL_STUDIO_URL);
  if (env.LABEL_STUDIO_API_KEY) setPath(merged, 'label_studio.api_key', env.LABEL_STUDIO_API_KEY);
  for (const [key, value] of Object.entries(env)) {
    if (
      value !== undefined &&
      (key.startsWith('LABELER_') || key === 'DATABASE_URL') &&
      key !== 'LABELER_CONFIG'
    )
      setPath(merged, `server.${key}`, value);
  }
  for (const pair of options.set ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliConfigError(`--set expects key=value, got "${pair}".`);
    const key = pair.slice(0, eq);
    setPath(merged, key, key.startsWith('server.') ? pair.slice(eq + 1) : parseValue(pair.slice(eq + 1)));
  }
  const parsed = cliConfigSchema.safeParse(merged);
  if (!parsed.success) {
    throw new CliConfigError(
      `Invalid configuration:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`,
    );
  }
  return parsed.data;
}
