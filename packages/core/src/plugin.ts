import { z } from 'zod';
import { LabelerError } from './errors.js';

/** The kinds of plugin the host knows. Each kind has one contract (see ./contracts). */
export const PLUGIN_KINDS = ['storage', 'annotation-backend', 'auth', 'dataset-connector'] as const;
export type PluginKind = (typeof PLUGIN_KINDS)[number];

/**
 * Contract versions this copy of core defines, as "major.minor". A plugin built against a contract
 * declares the version it targets; the host accepts the same major with a minor no newer than its own.
 */
export const CONTRACT_VERSIONS: Readonly<Record<PluginKind, string>> = {
  storage: '1.0',
  'annotation-backend': '1.0',
  auth: '1.0',
  'dataset-connector': '1.0',
};

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface HealthReport {
  status: HealthStatus;
  /** One sentence a person can act on, e.g. "bucket not writable: check the token's permissions". */
  message?: string;
  details?: Record<string, unknown>;
  checkedAt: string;
}

/** What every plugin instance offers the host. */
export interface PluginInstance {
  health(): Promise<HealthReport>;
  dispose(): Promise<void>;
}

/** Structured logger handed to plugins; the host's pino logger satisfies it. */
export interface PluginLogger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  child?(bindings: Record<string, unknown>): PluginLogger;
}

/** What the host gives a plugin when it creates an instance. */
export interface PluginContext {
  /** Stable id of the configured instance (a row in the host's database). */
  instanceId: string;
  logger: PluginLogger;
  /** Public base URL of the Labeler server (for links a plugin hands out), e.g. http://127.0.0.1:4000. */
  publicBaseUrl: string;
  /** A directory the instance may use for its own files. */
  dataDir: string;
  /** Host-held secret for signing (HMAC) links; never logged. */
  signingKey: string;
}

export interface PluginDefinition<
  K extends PluginKind = PluginKind,
  Config = unknown,
  Instance extends PluginInstance = PluginInstance,
  Capabilities extends object = object,
> {
  /** Globally unique, kebab-case, e.g. "r2" or "acme-minio". */
  id: string;
  kind: K;
  /** Contract version this plugin was built against ("major.minor"). */
  contractVersion: string;
  displayName: string;
  description: string;
  /** zod schema of the instance configuration; mark secret fields with `secret()`. */
  configSchema: z.ZodType<Config>;
  capabilities: Capabilities;
  create(ctx: PluginContext, config: Config): Promise<Instance>;
}

/** Identity helper that keeps a plugin's literal types. */
export function definePlugin<
  K extends PluginKind,
  Config,
  Instance extends PluginInstance,
  Capabilities extends object,
>(
  definition: PluginDefinition<K, Config, Instance, Capabilities>,
): PluginDefinition<K, Config, Instance, Capabilities> {
  return definition;
}

// ---- Secret fields -------------------------------------------------------------------------------

/** Marks a config field as secret: encrypted at rest, never logged, never returned (write-only in forms). */
export function secret<T extends z.ZodType>(schema: T): T {
  return schema.meta({ secret: true, writeOnly: true }) as T;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (let i = 0; i < 10; i++) {
    const def = (current as unknown as { _zod: { def: { type: string; innerType?: z.ZodType } } })._zod.def;
    if (
      (def.type === 'optional' ||
        def.type === 'nullable' ||
        def.type === 'default' ||
        def.type === 'prefault') &&
      def.innerType
    ) {
      if (isMarkedSecret(current)) return current;
      current = def.innerType;
    } else break;
  }
  return current;
}

function isMarkedSecret(schema: z.ZodType): boolean {
  const meta = z.globalRegistry.get(schema) as { secret?: boolean } | undefined;
  return meta?.secret === true;
}

/**
 * Dotted paths of every secret field in an object schema (nested objects included),
 * e.g. ["secretAccessKey", "auth.token"].
 */
export function secretFieldPaths(schema: z.ZodType, prefix = ''): string[] {
  const paths: string[] = [];
  const inner = unwrap(schema);
  if (isMarkedSecret(inner) || isMarkedSecret(schema)) return [prefix];
  const def = (inner as unknown as { _zod: { def: { type: string; shape?: Record<string, z.ZodType> } } })
    ._zod.def;
  if (def.type === 'object' && def.shape) {
    for (const [key, child] of Object.entries(def.shape)) {
      const path = prefix ? `${prefix}.${key}` : key;
      paths.push(...secretFieldPaths(child, path).map((p) => p || path));
    }
  }
  return paths.filter(Boolean);
}

// ---- Registration checks --------------------------------------------------------------------------

const PLUGIN_ID = /^[a-z][a-z0-9-]{1,62}$/;
const VERSION = /^(\d+)\.(\d+)$/;

/**
 * Checks a plugin definition against the host's contract versions. Throws PLUGIN_INCOMPATIBLE naming
 * the plugin and the offending field.
 */
export function assertPluginCompatible(
  definition: PluginDefinition,
  hostVersions: Readonly<Record<PluginKind, string>> = CONTRACT_VERSIONS,
): void {
  const name = typeof definition?.id === 'string' ? definition.id : '<unnamed>';
  const fail = (field: string, message: string): never => {
    throw new LabelerError('PLUGIN_INCOMPATIBLE', `Plugin "${name}": ${field} ${message}`, {
      details: { plugin: name, field },
    });
  };
  if (typeof definition !== 'object' || definition === null) fail('definition', 'must be an object');
  if (typeof definition.id !== 'string' || !PLUGIN_ID.test(definition.id))
    fail('id', 'must be kebab-case (a-z, 0-9, -), 2-63 characters');
  if (!PLUGIN_KINDS.includes(definition.kind))
    fail('kind', `must be one of ${PLUGIN_KINDS.join(', ')} (got ${String(definition.kind)})`);
  if (typeof definition.create !== 'function')
    fail('create', 'must be a function returning the plugin instance');
  if (
    !definition.configSchema ||
    typeof (definition.configSchema as { safeParse?: unknown }).safeParse !== 'function'
  )
    fail('configSchema', 'must be a zod schema');
  if (typeof definition.capabilities !== 'object' || definition.capabilities === null)
    fail('capabilities', 'must be an object');
  const wanted = VERSION.exec(String(definition.contractVersion));
  if (!wanted) {
    fail('contractVersion', `must look like "1.0" (got ${String(definition.contractVersion)})`);
    return;
  }
  const host = VERSION.exec(hostVersions[definition.kind])!;
  if (wanted[1] !== host[1] || Number(wanted[2]) > Number(host[2])) {
    fail(
      'contractVersion',
      `${definition.contractVersion} is not supported by this host: the ${definition.kind} contract here is ${hostVersions[definition.kind]} (same major, minor up to ${host[2]})`,
    );
  }
}

/** Validates raw instance config against the plugin's schema; throws PLUGIN_CONFIG_INVALID naming the field. */
export function parsePluginConfig<C>(definition: PluginDefinition<PluginKind, C>, raw: unknown): C {
  const result = definition.configSchema.safeParse(raw);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    field: issue.path.join('.') || '(root)',
    message: issue.message,
  }));
  const first = issues[0]!;
  throw new LabelerError(
    'PLUGIN_CONFIG_INVALID',
    `Plugin "${definition.id}": config field "${first.field}" ${first.message}`,
    {
      details: { plugin: definition.id, issues },
    },
  );
}

/** Replaces every secret field's value with null-or-"set" markers for display. */
export function redactSecrets(
  definition: PluginDefinition,
  config: Record<string, unknown>,
): Record<string, unknown> {
  const copy: Record<string, unknown> = structuredClone(config);
  for (const path of secretFieldPaths(definition.configSchema)) {
    const parts = path.split('.');
    let node: Record<string, unknown> | undefined = copy;
    for (const part of parts.slice(0, -1)) node = node?.[part] as Record<string, unknown> | undefined;
    const last = parts[parts.length - 1]!;
    if (node && last in node)
      node[last] = node[last] === undefined || node[last] === null || node[last] === '' ? null : '********';
  }
  return copy;
}

export function healthy(message?: string, details?: Record<string, unknown>): HealthReport {
  return {
    status: 'healthy',
    ...(message ? { message } : {}),
    ...(details ? { details } : {}),
    checkedAt: new Date().toISOString(),
  };
}

export function unhealthy(message: string, details?: Record<string, unknown>): HealthReport {
  return {
    status: 'unhealthy',
    message,
    ...(details ? { details } : {}),
    checkedAt: new Date().toISOString(),
  };
}
