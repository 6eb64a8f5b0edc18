import { defineEntity, p } from '@mikro-orm/core';

/** Stored outcome of a POST made with an Idempotency-Key (kept 24 h). */
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
    state: p.enum(['in_progress', 'completed'] as const),
    responseStatus: p.integer().nullable(),
    responseBody: p.json<unknown>().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime(),
  },
});
export class IdempotencyKey extends IdempotencyKeySchema.class {}
IdempotencyKeySchema.setClass(IdempotencyKey);
