import { secretFieldPaths, type PluginDefinition } from '@labeler/core';

type Json = Record<string, unknown>;

function getPath(obj: Json, path: string[]): unknown {
  let node: unknown = obj;
  for (const part of path) node = node && typeof node === 'object' ? (node as Json)[part] : undefined;
  return node;
}

function setPath(obj: Json, path: string[], value: unknown): void {
  let node = obj;
  for (const part of path.slice(0, -1)) {
    if (!node[part] || typeof node[part] !== 'object') node[part] = {};
    node = node[part] as Json;
  }
  node[path[path.length - 1]!] = value;
}

function deletePath(obj: Json, path: string[]): void {
  const parent = path.length > 1 ? getPath(obj, path.slice(0, -1)) : obj;
  if (parent && typeof parent === 'object') delete (parent as Json)[path[path.length - 1]!];
}

/** Splits a validated config into its public part and its secret fields (by dotted path). */
export function splitSecrets(
  definition: PluginDefinition,
  config: Json,
): { publicConfig: Json; secrets: Record<string, unknown> } {
  const publicConfig = structuredClone(config);
  const secrets: Record<string, unknown> = {};
  for (const path of secretFieldPaths(definition.configSchema)) {
    const parts = path.split('.');
    const value = getPath(config, parts);
    if (value !== undefined) secrets[path] = value;
    deletePath(publicConfig, parts);
  }
  return { publicConfig, secrets };
}

export function mergeSecrets(publicConfig: Json, secrets: Record<string, unknown>): Json {
  const config = structuredClone(publicConfig);
  for (const [path, value] of Object.entries(secrets)) setPath(config, path.split('.'), value);
  return config;
}

/** Which secret fields currently hold a value, for "set / not set" display. */
export function secretStatus(
  definition: PluginDefinition,
  secrets: Record<string, unknown>,
): Record<string, boolean> {
  return Object.fromEntries(
    secretFieldPaths(definition.configSchema).map((path) => [
      path,
      secrets[path] !== undefined && secrets[path] !== '',
    ]),
  );
}
