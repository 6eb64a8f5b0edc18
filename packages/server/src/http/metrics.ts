import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

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

  constructor(collectDefaults = true) {
    if (collectDefaults) collectDefaultMetrics({ register: this.registry, prefix: 'labeler_' });
  }
}
