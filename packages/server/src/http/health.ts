import type { AppServices } from '../app/services.js';
import { databaseUnavailableReason } from '../db/unavailable.js';

export interface ReadinessReport {
  ready: boolean;
  status: 'ready' | 'degraded' | 'not_ready';
  database: { ok: boolean; latency_ms: number | null; error?: string };
  plugins: Array<{
    id: string;
    name: string;
    plugin_id: string;
    kind: string;
    status: string;
    message: string | null;
    is_default: boolean;
  }>;
}

/** /readyz answers within this, whatever the database does (load balancers probe with ~2 s timeouts). */
export const READINESS_TIMEOUT_MS = 1_500;

/** The check in flight per app: a hung probe is joined by the next /readyz, never piled up behind. */
const inFlight = new WeakMap<AppServices, Promise<ReadinessReport>>();

/**
 * Ready = the database answers and the default storage is not unhealthy. Other plugin instances are
 * reported ("degraded") without failing readiness: an unreachable Label Studio must not take the
 * Dataset API out of a load balancer. A check that does not finish within READINESS_TIMEOUT_MS
 * answers not ready (it keeps running, and the next call joins it).
 */
export async function readiness(app: AppServices): Promise<ReadinessReport> {
  let check = inFlight.get(app);
  if (!check) {
    check = checkReadiness(app).finally(() => inFlight.delete(app));
    inFlight.set(app, check);
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ReadinessReport>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          ready: false,
          status: 'not_ready',
          database: { ok: false, latency_ms: null, error: `no answer within ${READINESS_TIMEOUT_MS} ms` },
          plugins: [],
        }),
      READINESS_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([check, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function checkReadiness(app: AppServices): Promise<ReadinessReport> {
  const started = performance.now();
  let database: ReadinessReport['database'];
  try {
    await app.orm.em.getConnection().execute('select 1');
    database = { ok: true, latency_ms: Math.round((performance.now() - started) * 100) / 100 };
  } catch (error) {
    // The reason only (ECONNREFUSED, 57014, …): the driver's message can name hosts.
    database = { ok: false, latency_ms: null, error: databaseUnavailableReason(error) ?? 'query failed' };
  }
  const plugins = database.ok
    ? (await app.plugins.list().catch(() => []))
        .filter((p) => p.enabled)
        .map((p) => ({
          id: p.id,
          name: p.name,
          plugin_id: p.plugin_id,
          kind: p.kind,
          status: p.health.status,
          message: p.health.message,
          is_default: p.is_default,
        }))
    : [];
  const storageDown = plugins.some((p) => p.kind === 'storage' && p.is_default && p.status === 'unhealthy');
  const anyDown = plugins.some((p) => p.status === 'unhealthy');
  const ready = database.ok && !storageDown;
  return { ready, status: !ready ? 'not_ready' : anyDown ? 'degraded' : 'ready', database, plugins };
}
