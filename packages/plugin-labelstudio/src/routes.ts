/**
 * Every Label Studio path the plugin calls, spelled exactly as Label Studio 1.7.3 declares it in its
 * Django `urls.py` (and checked on a real 1.7.3 server by test/contract).
 *
 * The trailing slash matters: Label Studio runs `CommonMiddlewareAppendSlashWithoutRedirect`, which only
 * *adds* a missing slash (and serves it without a redirect, for every method). So a route declared with a
 * slash answers both `/x` and `/x/`, while a route declared without one answers 404 (an HTML page) when
 * called as `/x/`. The simulator registers its routes from this same table, so it has the same rule.
 */
export const LS_ROUTES = {
  version: '/api/version/',
  whoami: '/api/current-user/whoami',
  currentUserToken: '/api/current-user/token',
  /** Personal Access Tokens: Label Studio ≥ 1.17 only (404 on 1.7). */
  tokenRefresh: '/api/token/refresh/',
  projects: '/api/projects/',
  project: '/api/projects/:id/',
  labelConfigValidate: '/api/projects/validate/',
  projectValidate: '/api/projects/:id/validate/',
  projectImport: '/api/projects/:id/import',
  /** Enterprise's asynchronous import record. */
  projectImportStatus: '/api/projects/:id/imports/:importId/',
  projectTasks: '/api/projects/:id/tasks/',
  projectExport: '/api/projects/:id/export',
  tasks: '/api/tasks/',
  task: '/api/tasks/:id/',
  taskAnnotations: '/api/tasks/:id/annotations/',
  annotation: '/api/annotations/:id/',
  storages: '/api/storages/',
  storageTypes: '/api/storages/types',
  localFilesStorages: '/api/storages/localfiles/',
  localFilesStorage: '/api/storages/localfiles/:id',
  localFilesStorageSync: '/api/storages/localfiles/:id/sync',
  localFilesStorageValidate: '/api/storages/localfiles/validate',
  localFilesExportStorages: '/api/storages/export/localfiles',
  localFilesExportStorage: '/api/storages/export/localfiles/:id',
  localFilesExportStorageSync: '/api/storages/export/localfiles/:id/sync',
  localFilesExportStorageValidate: '/api/storages/export/localfiles/validate',
  s3Storages: '/api/storages/s3/',
  s3Storage: '/api/storages/s3/:id',
  s3StorageSync: '/api/storages/s3/:id/sync',
  s3StorageValidate: '/api/storages/s3/validate',
  s3ExportStorages: '/api/storages/export/s3',
  s3ExportStorage: '/api/storages/export/s3/:id',
  s3ExportStorageSync: '/api/storages/export/s3/:id/sync',
  s3ExportStorageValidate: '/api/storages/export/s3/validate',
  webhooks: '/api/webhooks/',
  webhook: '/api/webhooks/:id/',
  webhookInfo: '/api/webhooks/info/',
  localFilesData: '/data/local-files/',
} as const;

export type LsRouteName = keyof typeof LS_ROUTES;

/** The path of a route with its `:params` filled in (URL-encoded). */
export function lsPath(name: LsRouteName, params: Record<string, string | number> = {}): string {
  return LS_ROUTES[name].replace(/:(\w+)/g, (_, key: string) => {
    const value = params[key];
    if (value === undefined) throw new Error(`lsPath(${name}): missing :${key}`);
    return encodeURIComponent(String(value));
  });
}

/** The storage routes of one type and role (import storages are "source", export ones "target"). */
export function storageRoutes(
  type: 'local-files' | 's3',
  role: 'source' | 'target',
): { list: LsRouteName; detail: LsRouteName; sync: LsRouteName; validate: LsRouteName } {
  const t = type === 'local-files' ? 'localFiles' : 's3';
  const r = role === 'source' ? '' : 'Export';
  return {
    list: `${t}${r}Storages` as LsRouteName,
    detail: `${t}${r}Storage` as LsRouteName,
    sync: `${t}${r}StorageSync` as LsRouteName,
    validate: `${t}${r}StorageValidate` as LsRouteName,
  };
}
