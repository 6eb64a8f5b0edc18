import type { AnyRouter } from '@trpc/server';

/** The one label of every path that is not a known route: unknown paths must not add metric series. */
export const UNMATCHED = 'unmatched';

/** Fixed server paths, labelled as themselves. */
const FIXED = new Set([
  '/',
  '/healthz',
  '/readyz',
  '/metrics',
  '/api/v1/openapi.json',
  '/api/v1/postman.json',
  '/docs',
  '/docs/',
  '/docs/init.js',
]);
/** Prefixes whose files or keys are labelled together. */
const PREFIXES = ['/docs/assets/', '/storage/local/', '/assets/'];

interface Template {
  label: string;
  pattern: RegExp;
}

/**
 * Route label for metrics, taken only from the set of known routes: the REST route templates of the
 * OpenAPI document (`/api/v1/datasets/{dataset_id}`), tRPC procedure names, the fixed server paths and
 * the extra routers' mounts; everything else is `unmatched`. Label cardinality is therefore bounded by the
 * code, not by what clients send.
 */
export function createRouteLabeler(
  router: AnyRouter,
  mounts: readonly string[] = [],
): (path: string) => string {
  const procedures = router._def.procedures as Record<
    string,
    { _def?: { meta?: { openapi?: { path?: string } } } }
  >;
  const names = new Set(Object.keys(procedures));
  // Templates by segment count, so a path is matched against few patterns.
  const templates = new Map<number, Template[]>();
  for (const procedure of Object.values(procedures)) {
    const path = procedure._def?.meta?.openapi?.path;
    if (!path) continue;
    const label = `/api/v1${path.replace(/\/$/, '')}`;
    const source = label
      .split(/(\{[^}]+\})/)
      .map((part) => (/^\{[^}]+\}$/.test(part) ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    const count = label.split('/').length;
    const list = templates.get(count) ?? [];
    if (!list.some((t) => t.label === label)) list.push({ label, pattern: new RegExp(`^${source}$`) });
    templates.set(count, list);
  }
  const mountPrefixes = mounts.map((m) => `${m.replace(/\/$/, '')}/`);

  return (rawPath) => {
    const path =
      rawPath.length > 1 && rawPath.endsWith('/') && rawPath !== '/docs/' ? rawPath.slice(0, -1) : rawPath;
    if (FIXED.has(path)) return path;
    if (path.startsWith('/trpc/')) {
      const called = path.slice(6).split(',');
      if (!called.every((name) => names.has(name))) return UNMATCHED;
      return called.length > 1 ? '/trpc/(batch)' : `/trpc/${called[0]}`;
    }
    if (path.startsWith('/api/v1/')) {
      for (const template of templates.get(path.split('/').length) ?? [])
        if (template.pattern.test(path)) return template.label;
      return UNMATCHED;
    }
    for (const prefix of PREFIXES) if (path.startsWith(prefix)) return `${prefix}*`;
    for (const prefix of mountPrefixes)
      if (path.startsWith(prefix) || `${path}/` === prefix) return `${prefix}*`;
    return UNMATCHED;
  };
}
