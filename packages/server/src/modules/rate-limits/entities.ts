import { defineEntity, p } from '@mikro-orm/core';

/** Fixed-window request counters shared by every server process on the database. */
export const RateLimitCounterSchema = defineEntity({
  name: 'RateLimitCounter',
  tableName: 'rate_limit_counter',
  primaryKeys: ['bucket', 'windowStart'],
  indexes: [{ properties: ['windowStart'] }],
  properties: {
    bucket: p.string().primary(),
    windowStart: p.bigint('number').primary(),
    count: p.integer().default(0),
  },
});
export class RateLimitCounter extends RateLimitCounterSchema.class {}
RateLimitCounterSchema.setClass(RateLimitCounter);
