import type { AppServices } from '../app/services.js';

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

/**
 * Ready = the database answers and the default storage is not unhealthy. Other plugin instances are
 * reported ("degraded") without failing readiness: an unreachable Label Studio must not take the
 * Dataset API out of a load balancer.
 */
export async function readiness(app: AppServices): Promise<ReadinessReport> {
  const started = performance.now();
  let database: ReadinessReport['database'];
  try {
    await app.orm.em.getConnection().execute('select 1');
    database = { ok: true, latency_ms: Math.round((performance.now() - started) * 100) / 100 };
  } catch (error) {
    database = { ok: false, latency_ms: null, error: (error as Error).message.slice(0, 200) };
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
