import { generateOpenApiDocument } from 'trpc-to-openapi';
import type { AppRouter } from '../trpc/app-router.js';

const ERROR_ENVELOPE_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details', 'timestamp'],
      properties: {
        code: {
          type: 'string',
          description:
            'Stable machine-readable code, e.g. DATASET_NOT_FOUND, ACCESS_DENIED, INVALID_DATASET_ID, RATE_LIMIT_EXCEEDED, INTERNAL_ERROR, R2_UNAVAILABLE.',
          example: 'DATASET_NOT_FOUND',
        },
        message: { type: 'string', example: 'Dataset ds_xyz789 not found' },
        details: { type: 'object', additionalProperties: true, example: { dataset_id: 'ds_xyz789' } },
        timestamp: { type: 'string', format: 'date-time', example: '2025-11-27T10:30:00Z' },
      },
    },
  },
} as const;

const RATE_LIMIT_HEADERS = {
  'X-RateLimit-Limit': {
    description: 'Requests allowed in the current window of the most restrictive policy that applies.',
    schema: { type: 'integer' },
  },
  'X-RateLimit-Remaining': { description: 'Requests left in that window.', schema: { type: 'integer' } },
  'X-RateLimit-Reset': {
    description:
      'Seconds until that window resets (relative seconds, not an epoch timestamp: clients need no clock sync).',
    schema: { type: 'integer' },
  },
  RateLimit: {
    description: 'IETF draft (draft-ietf-httpapi-ratelimit-headers-09) live counters per policy.',
    schema: { type: 'string' },
  },
  'RateLimit-Policy': {
    description: 'IETF draft policies: "account";q=1000;w=60, "dataset";q=100;w=60.',
    schema: { type: 'string' },
  },
} as const;

const DESCRIPTION = `Labeler Dataset API for the Platform and TypeScript clients.

**Authentication**: \`Authorization: Bearer <service account key>\`. Keys (lbl_sa_…) are shown once at creation and stored only as a hash. Each route requires a scope: datasets:read, datasets:download, datasets:permissions (admin implies all).

**Errors** always use the envelope \`{"error":{"code","message","details","timestamp"}}\`. A malformed id is 400 INVALID_DATASET_ID. A dataset the caller's organization cannot see answers **404 DATASET_NOT_FOUND** (not 403), so private datasets' existence does not leak; 403 ACCESS_DENIED is used when the named Platform user (user_id) lacks access.

**Rate limits**: 1000 requests/minute per service account and 100/minute per dataset id (fixed windows shared by all server processes). Every authenticated response carries X-RateLimit-Limit/Remaining/Reset for the most restrictive policy (Reset = seconds until reset), plus the IETF draft RateLimit and RateLimit-Policy headers. A 429 RATE_LIMIT_EXCEEDED carries Retry-After. Every request counts, whatever it answers. A batch request counts once, against the account only: it draws on no dataset's budget (a batch is one request, and polling many datasets through it must not use up their budgets for every other caller).

**Caching and retries**: GET responses carry a weak ETag; send If-None-Match to get 304. POSTs accept an Idempotency-Key header (24 h, replayed with Idempotent-Replayed: true).`;

/** OpenAPI 3.1 document, with every error response rewritten to the spec's envelope. */
export function buildOpenApiDocument(router: AppRouter, baseUrl: string): Record<string, unknown> {
  const doc = generateOpenApiDocument(router, {
    title: 'Labeler Dataset API',
    description: DESCRIPTION,
    version: '1.0.0',
    baseUrl: `${baseUrl}/api/v1`,
    securitySchemes: {
      bearerAuth: { type: 'http', scheme: 'bearer', description: 'Service account API key (lbl_sa_…)' },
    },
  }) as unknown as Record<string, unknown> & {
    paths?: Record<
      string,
      Record<string, { responses?: Record<string, { content?: unknown; headers?: unknown }> }>
    >;
    components?: Record<string, Record<string, unknown>>;
  };
  doc.components ??= {};
  doc.components.schemas = { ...(doc.components.schemas ?? {}), ErrorEnvelope: ERROR_ENVELOPE_SCHEMA };
  for (const methods of Object.values(doc.paths ?? {})) {
    for (const operation of Object.values(methods)) {
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (Number(status) >= 400 || status === 'default') {
          response.content = {
            'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } },
          };
        }
        response.headers = { ...(response.headers as object | undefined), ...RATE_LIMIT_HEADERS };
      }
    }
  }
  // Drop the adapter's built-in error schemas, which the envelope replaces.
  for (const name of Object.keys(doc.components.schemas ?? {}))
    if (name.startsWith('error.')) delete doc.components.schemas[name];
  return doc;
}
