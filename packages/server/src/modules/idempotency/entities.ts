import { defineEntity, p } from '@mikro-orm/core';

/**
 * One Idempotency-Key of one principal (kept 24 h): the request it was first used for (method, path and
 * a hash of the canonical input), and its answer once there is one. The answer (status, replayed headers,
 * body) is encrypted with the server key; `state` is `consumed` once a secret-bearing answer has been
 * replayed and erased. An `in_progress` record is leased to its owner until `locked_until`; a retry after
 * that takes it over (see README.md).
 */
export const IdempotencyKeySchema = defineEntity({
  name: 'IdempotencyKey',
  tableName: 'idempotency_key',
  primaryKeys: ['principalId', 'key'],
  indexes: [{ properties: ['expiresAt'] }],
  properties: {
    principalId: p.string().primary(),
    key: p.string().primary(),
    method: p.string(),
    path: p.text(),
    requestHash: p.string(),
    state: p.enum(['in_progress', 'completed', 'consumed'] as const),
    responseStatus: p.integer().nullable(),
    /** AES-256-GCM envelope (lib/crypto.ts encryptJson) of { headers, body }; never plaintext. */
    responseBody: p.text().nullable(),
    /** The answer carries a credential or a signed URL: replayed once, then erased. */
    secret: p.boolean().default(false),
    lockedUntil: p.datetime().nullable(),
    lockToken: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime(),
  },
});
export class IdempotencyKey extends IdempotencyKeySchema.class {}
IdempotencyKeySchema.setClass(IdempotencyKey);
