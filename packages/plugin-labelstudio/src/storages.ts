/**
 * Storages, idempotent by (type, role, path | bucket+prefix).
 *
 * Source (import) storages are created WITHOUT a sync: Labeler imports tasks itself through the API so
 * each carries its sample id; a sync would add a second, id-less task per file. The storage only has
 * to exist so LS serves/presigns the files (LS docs: "Save without Sync" for JSON tasks pointing at local
 * files). Target (export) storages are synced after creation, which pushes existing annotations.
 */
import { type BackendStorage, LabelerError, type StorageSetup, type StorageSetupResult } from '@labeler/core';
import { findOrCreate } from './find-or-create.js';
import type { LabelStudioClient } from './http.js';
import { lsPath, storageRoutes } from './routes.js';
import { type LsStorage, storageSchema } from './schemas.js';

type Kind = { type: StorageSetup['type']; role: StorageSetup['role'] };
const KINDS: Kind[] = [
  { type: 'local-files', role: 'source' },
  { type: 's3', role: 'source' },
  { type: 'local-files', role: 'target' },
  { type: 's3', role: 'target' },
];

const trimSlash = (value: string | null | undefined): string => (value ?? '').replace(/\/+$/, '');
const trimPrefix = (value: string | null | undefined): string => (value ?? '').replace(/^\/+|\/+$/g, '');

function matches(setup: StorageSetup, s: LsStorage): boolean {
  if (setup.type === 'local-files') return trimSlash(s.path) === trimSlash(setup.path);
  return s.bucket === setup.bucket && trimPrefix(s.prefix) === trimPrefix(setup.prefix);
}

function createBody(projectId: string, setup: StorageSetup): Record<string, unknown> {
  const common = {
    project: Number(projectId),
    title: setup.title,
    ...(setup.regexFilter ? { regex_filter: setup.regexFilter } : {}),
  };
  if (setup.type === 'local-files') {
    // A storage path with a trailing slash is a classic cause of local-files 404s (reference §9).
    return {
      ...common,
      path: trimSlash(setup.path),
      use_blob_urls: setup.useBlobUrls ?? setup.role === 'source',
    };
  }
  return {
    ...common,
    bucket: setup.bucket,
    prefix: trimPrefix(setup.prefix),
    aws_access_key_id: setup.accessKeyId,
    aws_secret_access_key: setup.secretAccessKey,
    ...(setup.region ? { region_name: setup.region } : {}),
    ...(setup.endpoint ? { s3_endpoint: setup.endpoint } : {}),
    ...(setup.role === 'source'
      ? {
          use_blob_urls: true,
          presign: setup.presign ?? true,
          ...(setup.presignTtlMinutes ? { presign_ttl: setup.presignTtlMinutes } : {}),
        }
      : {}),
  };
}

async function listKind(client: LabelStudioClient, projectId: string, kind: Kind): Promise<LsStorage[]> {
  return client.request('GET', lsPath(storageRoutes(kind.type, kind.role).list), storageSchema.array(), {
    query: { project: projectId },
  });
}

export async function setupStorage(
  client: LabelStudioClient,
  projectId: string,
  setup: StorageSetup,
): Promise<StorageSetupResult> {
  if (!/^\d+$/.test(projectId))
    throw new LabelerError('BACKEND_NOT_FOUND', `Label Studio project id "${projectId}" is not a number.`);
  const routes = storageRoutes(setup.type, setup.role);
  const { value, created } = await findOrCreate({
    find: async () => (await listKind(client, projectId, setup)).find((s) => matches(setup, s)) ?? null,
    create: () =>
      client.request('POST', lsPath(routes.list), storageSchema, { body: createBody(projectId, setup) }),
    pause: (attempt) => client.pause(attempt),
  });
  if (created && setup.role === 'target') {
    await client.request('POST', lsPath(routes.sync, { id: value.id }), storageSchema, { idempotent: true });
  }
  return { storageId: String(value.id), created };
}

export async function listStorages(client: LabelStudioClient, projectId: string): Promise<BackendStorage[]> {
  const lists = await Promise.all(
    KINDS.map(async (kind) => ({ kind, items: await listKind(client, projectId, kind) })),
  );
  return lists.flatMap(({ kind, items }) =>
    items.map(
      (s): BackendStorage => ({
        storageId: String(s.id),
        type: kind.type,
        role: kind.role,
        title: s.title ?? '',
        ...(kind.type === 'local-files'
          ? { path: s.path ?? '' }
          : { bucket: s.bucket ?? '', prefix: s.prefix ?? '' }),
      }),
    ),
  );
}
