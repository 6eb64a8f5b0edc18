/** `GET /data/local-files/?d=` with LS's gates in LS's order (reference §9). */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { authenticate } from './auth.js';
import type { SimContext } from './context.js';
import { route, type Route } from './http.js';

const DANGEROUS =
  "Serving local files can be dangerous, so it's disabled by default. You can enable it with LOCAL_FILES_SERVING_ENABLED environment variable, please check docs: https://labelstud.io/guide/storage.html#Local-storage";

const MIME: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.json': 'application/json',
  '.txt': 'text/plain',
};

export function fileRoutes(ctx: SimContext): Route[] {
  return [
    // Auth is handled inside: the 1.7-era view only knows sessions and answers 403, not 401.
    route('GET', '/data/local-files', 'none', (req) => {
      if (!ctx.localFiles.servingEnabled) return { status: 403, text: DANGEROUS };
      const who = (() => {
        try {
          return authenticate(ctx, req.headers);
        } catch {
          return null;
        }
      })();
      const d = req.query.get('d');
      const allowed = who !== null && (who.via === 'session' || ctx.localFiles.acceptTokenAuth);
      if (!allowed || !d) return { status: 403, text: '' };
      const root = resolve(ctx.localFiles.documentRoot);
      const full = resolve(root, d);
      // Django's safe_join refuses a path outside the root: SuspiciousFileOperation → 400.
      if (full !== root && !full.startsWith(root + sep))
        return { status: 400, text: '<h1>Bad Request (400)</h1>' };
      const dir = dirname(full);
      // A storage whose path prefixes the file's directory on a segment boundary (newer LS rule).
      const covered = ctx.state.storages.some((s) => {
        if (s.type !== 'localfiles' || s.role !== 'import' || !s.path) return false;
        const base = resolve(s.path);
        return dir === base || dir.startsWith(base + sep);
      });
      if (!covered || !existsSync(full) || !statSync(full).isFile()) return { status: 404, text: '' };
      const ext = full.slice(full.lastIndexOf('.')).toLowerCase();
      return {
        status: 200,
        raw: readFileSync(full),
        headers: { 'content-type': MIME[ext] ?? 'application/octet-stream' },
      };
    }),
  ];
}
