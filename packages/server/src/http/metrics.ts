import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** What the dataset view cache has counted so far (modules/datasets/view-cache.ts). */
interface ViewCacheCounts {
  hits: number;
  misses: number;
  pageHits: number;
  pageMisses: number;
  size: number;
}

/** Prometheus metrics of one server process (exposed at /metrics). */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'labeler_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'labeler_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'labeler_rate_limited_total',
    help: 'Requests refused with 429',
    labelNames: ['policy'],
    registers: [this.registry],
  });
  readonly presignedUrls = new Counter({
    name: 'labeler_presigned_urls_total',
    help: 'Download URLs issued',
    registers: [this.registry],
  });
  readonly pluginHealth = new Gauge({
    name: 'labeler_plugin_instance_healthy',
    help: '1 when a plugin instance is healthy',
    labelNames: ['instance', 'plugin'],
    registers: [this.registry],
  });
  readonly jobs = new Counter({
    name: 'labeler_jobs_total',
    help: 'Jobs finished by kind and final state',
    labelNames: ['kind', 'state'],
    registers: [this.registry],
  });
  readonly backendCalls = new Counter({
    name: 'labeler_annotation_backend_calls_total',
    help: 'Annotation-backend operations by outcome',
    labelNames: ['operation', 'outcome'],
    registers: [this.registry],
  });

  /** Reads the dataset view cache's counts at scrape time (set by the app; see observeViewCache). */
  #viewCache: ViewCacheCounts | null = null;

  /** Exposes the dataset view cache's lookups and entries. */
  observeViewCache(cache: ViewCacheCounts): void {
    this.#viewCache = cache;
  }

  constructor(collectDefaults = true) {
    const metrics = this;
    new Counter({
      name: 'labeler_dataset_view_cache_lookups_total',
      help: 'View cache lookups: a dataset in a batch, or a list page; by whether the cache held it',
      labelNames: ['kind', 'result'],
      registers: [this.registry],
      // The cache keeps the totals; each scrape copies them.
      collect() {
        const cache = metrics.#viewCache;
        if (!cache) return;
        this.reset();
        this.inc({ kind: 'dataset', result: 'hit' }, cache.hits);
        this.inc({ kind: 'dataset', result: 'miss' }, cache.misses);
        this.inc({ kind: 'list_page', result: 'hit' }, cache.pageHits);
        this.inc({ kind: 'list_page', result: 'miss' }, cache.pageMisses);
      },
    });
    new Gauge({
      name: 'labeler_dataset_view_cache_entries',
      help: 'Datasets held by the view cache',
      registers: [this.registry],
      collect() {
        this.set(metrics.#viewCache?.size ?? 0);
      },
    });
    if (collectDefaults) collectDefaultMetrics({ register: this.registry, prefix: 'labeler_' });
  }
}
