/** Local-files and S3 import/export storages with validate and sync (reference §8). */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { SimContext } from './context.js';
import { notFound, route, validationError, type Route, type SimRequest } from './http.js';
import { checkLabelConfig } from './label-config.js';
import { getProject } from './routes-projects.js';
import type { SimStorage } from './state.js';

const TYPES = ['localfiles', 's3'] as const;
type StorageType = (typeof TYPES)[number];
const SECRET_FIELDS = new Set(['aws_secret_access_key', 'aws_session_token']);

/** LocalFiles `validate_connection`: the path must exist and sit under LOCAL_FILES_DOCUMENT_ROOT. */
export function checkLocalPath(ctx: SimContext, path: unknown): string {
  if (typeof path !== 'string' || path === '') throw validationError({ path: ['This field is required.'] });
  const root = resolve(ctx.localFiles.documentRoot);
  const full = resolve(path);
  // Strictly inside: the document root itself is refused too (checked on 1.7.3).
  if (!isAbsolute(path) || !full.startsWith(root + sep)) {
    throw validationError({
      non_field_errors: [
        `Path ${path} must start with LOCAL_FILES_DOCUMENT_ROOT=${root} and must be a child, e.g.: ${join(root, 'abc')}`,
      ],
    });
  }
  if (!existsSync(full) || !statSync(full).isDirectory())
    throw validationError({ non_field_errors: [`Path ${path} does not exist`] });
  return full;
}

function listFiles(dir: string, recursive: boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (recursive) out.push(...listFiles(full, true));
    } else if (entry.isFile()) out.push(full);
  }
  return out.sort();
}

export function storageRoutes(ctx: SimContext): Route[] {
  const { state } = ctx;
  const syncedKeys = new Map<number, Set<string>>();

  const validateBody = (type: StorageType, body: Record<string, unknown>, partial: boolean) => {
    if (type === 'localfiles' && (!partial || 'path' in body)) checkLocalPath(ctx, body.path);
    if (
      type === 's3' &&
      (!partial || 'bucket' in body) &&
      (typeof body.bucket !== 'string' || body.bucket === '')
    ) {
      throw validationError({ bucket: ['This field is required.'] });
    }
  };

  const serialize = (s: SimStorage) => {
    const out = state.serializeStorage(s);
    for (const key of SECRET_FIELDS) if (key in out) out[key] = null; // write-only, as LS hides credentials
    return out;
  };

  const find = (type: StorageType, role: SimStorage['role'], id: string | undefined): SimStorage => {
    const storage = state.storages.find((s) => s.id === Number(id) && s.type === type && s.role === role);
    if (!storage) throw notFound();
    return storage;
  };

  const sync = (storage: SimStorage): void => {
    storage.status = 'in_progress';
    let count = 0;
    try {
      if (storage.type === 'localfiles' && storage.role === 'import') {
        const root = resolve(ctx.localFiles.documentRoot);
        const project = getProject(ctx, String(storage.project));
        const check = checkLabelConfig(project.label_config);
        const key = check.ok && check.variables[0] ? check.variables[0] : 'image';
        const regex = storage.regex_filter ? new RegExp(storage.regex_filter) : null;
        const seen = syncedKeys.get(storage.id) ?? new Set<string>();
        for (const file of listFiles(storage.path!, storage.extra.recursive_scan === true)) {
          const rel = relative(root, file).split(sep).join('/');
          if ((regex && !regex.test(rel)) || seen.has(rel)) continue;
          seen.add(rel);
          if (storage.use_blob_urls)
            state.createTask(storage.project, { [key]: `/data/local-files/?d=${rel}` }, {});
          else {
            const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
            for (const item of Array.isArray(parsed) ? parsed : [parsed]) {
              const record = item as Record<string, unknown>;
              state.createTask(
                storage.project,
                ('data' in record ? record.data : record) as Record<string, unknown>,
                {},
              );
            }
          }
          count += 1;
        }
        syncedKeys.set(storage.id, seen);
        state.touch(storage.project);
      } else if (storage.role === 'export') {
        for (const task of state.projectTasks.get(storage.project) ?? []) count += task.annotations.length;
      }
      storage.status = 'completed';
      storage.traceback = null;
    } catch (error) {
      storage.status = 'failed';
      storage.traceback = String(error);
    }
    storage.last_sync = new Date().toISOString();
    storage.last_sync_count = count;
    storage.last_sync_job = null;
  };

  const routes: Route[] = [
    route('GET', '/api/storages/types', 'required', () => ({
      status: 200,
      json: [
        { name: 's3', title: 'AWS S3' },
        { name: 'localfiles', title: 'Local files' },
      ],
    })),
    route('GET', '/api/storages', 'required', (req) => {
      const project = Number(req.query.get('project'));
      return {
        status: 200,
        json: state.storages
          .filter((s) => s.role === 'import' && (!project || s.project === project))
          .map(serialize),
      };
    }),
  ];
  for (const role of ['import', 'export'] as const) {
    const prefix = role === 'import' ? '/api/storages' : '/api/storages/export';
    for (const type of TYPES) {
      const base = `${prefix}/${type}`;
      routes.push(
        route('GET', base, 'required', (req) => {
          const project = Number(req.query.get('project'));
          return {
            status: 200,
            json: state.storages
              .filter((s) => s.type === type && s.role === role && (!project || s.project === project))
              .map(serialize),
          };
        }),
        route('POST', base, 'required', (req: SimRequest) => {
          const body = (req.body ?? {}) as Record<string, unknown>;
          getProject(ctx, String(body.project));
          validateBody(type, body, false);
          const {
            project,
            title,
            description,
            path,
            bucket,
            prefix: keyPrefix,
            regex_filter,
            use_blob_urls,
            ...extra
          } = body;
          const storage: SimStorage = {
            id: state.nextId('storage'),
            type,
            role,
            project: Number(project),
            title: typeof title === 'string' ? title : '',
            description: typeof description === 'string' ? description : '',
            ...(type === 'localfiles'
              ? { path: String(path) }
              : { bucket: String(bucket), prefix: typeof keyPrefix === 'string' ? keyPrefix : '' }),
            regex_filter: typeof regex_filter === 'string' ? regex_filter : null,
            use_blob_urls: use_blob_urls === true,
            extra,
            status: 'initialized',
            last_sync: null,
            last_sync_count: null,
            last_sync_job: null,
            traceback: null,
            created_at: new Date().toISOString(),
          };
          state.storages.push(storage);
          return { status: 201, json: serialize(storage) };
        }),
        route('POST', `${base}/validate`, 'required', (req) => {
          const body = (req.body ?? {}) as Record<string, unknown>;
          // 1.7.3's serializer requires a project, checked before the path (the reference says modern ones do not).
          if (!ctx.modern && body.project === undefined)
            throw validationError({ project: ['This field is required.'] });
          validateBody(type, body, false);
          return { status: 200 };
        }),
        route('GET', `${base}/:id`, 'required', (req) => ({
          status: 200,
          json: serialize(find(type, role, req.params.id)),
        })),
        route('PATCH', `${base}/:id`, 'required', (req) => {
          const storage = find(type, role, req.params.id);
          const body = (req.body ?? {}) as Record<string, unknown>;
          validateBody(type, body, true);
          for (const [key, value] of Object.entries(body)) {
            if (
              key === 'title' ||
              key === 'description' ||
              key === 'path' ||
              key === 'bucket' ||
              key === 'prefix'
            )
              (storage as unknown as Record<string, unknown>)[key] = value;
            else if (key === 'regex_filter') storage.regex_filter = typeof value === 'string' ? value : null;
            else if (key === 'use_blob_urls') storage.use_blob_urls = value === true;
            else if (key !== 'project') storage.extra[key] = value;
          }
          return { status: 200, json: serialize(storage) };
        }),
        route('DELETE', `${base}/:id`, 'required', (req) => {
          const storage = find(type, role, req.params.id);
          state.storages.splice(state.storages.indexOf(storage), 1);
          return { status: 204 };
        }),
        route('POST', `${base}/:id/sync`, 'required', (req) => {
          const storage = find(type, role, req.params.id);
          sync(storage);
          return { status: 200, json: serialize(storage) };
        }),
      );
    }
  }
  return routes;
}
