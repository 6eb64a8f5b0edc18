import { defineEntity, p } from '@mikro-orm/core';

/**
 * A machine identity with a static scoped API key. Only sha256(key) is stored. Rotation moves the
 * current hash to `previousKeyHash`, valid until `previousKeyExpiresAt` (the overlap window).
 */
export const ServiceAccountSchema = defineEntity({
  name: 'ServiceAccount',
  tableName: 'service_account',
  indexes: [{ properties: ['previousKeyHash'] }],
  properties: {
    id: p.string().primary(),
    name: p.string(),
    organizationId: p.string().nullable(),
    keyPrefix: p.string(),
    keyHash: p.string().unique(),
    previousKeyHash: p.string().nullable(),
    previousKeyExpiresAt: p.datetime().nullable(),
    scopes: p.array().default([]),
    createdBy: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
    lastUsedAt: p.datetime().nullable(),
    requestCount: p.bigint('number').default(0),
    rateLimitedCount: p.bigint('number').default(0),
    /** True for the account created from LABELER_ADMIN_TOKEN. */
    bootstrap: p.boolean().default(false),
  },
});
export class ServiceAccount extends ServiceAccountSchema.class {}
ServiceAccountSchema.setClass(ServiceAccount);
