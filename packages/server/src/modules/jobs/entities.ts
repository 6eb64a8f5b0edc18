import { defineEntity, p } from '@mikro-orm/core';
import { JOB_QUEUES, JOB_STATES } from '@labeler/core';

/**
 * Our own status record of a background job (the queue itself is pg-boss). At most one queued or running
 * job per dedup key (partial unique index).
 */
export const JobSchema = defineEntity({
  name: 'JobRecord',
  tableName: 'job',
  indexes: [
    { properties: ['state', 'createdAt'] },
    { properties: ['kind', 'createdAt'] },
    {
      name: 'job_dedup_active_unique',
      expression: `create unique index "job_dedup_active_unique" on "job" ("dedup_key") where "dedup_key" is not null and "state" in ('queued', 'in_progress')`,
    },
  ],
  properties: {
    id: p.string().primary(),
    kind: p.string(),
    queue: p.enum(JOB_QUEUES),
    state: p.enum(JOB_STATES).default('queued'),
    dedupKey: p.string().nullable(),
    payload: p.json<Record<string, unknown>>(),
    progressDone: p.integer().default(0),
    progressTotal: p.integer().nullable(),
    progressMessage: p.text().nullable(),
    attempts: p.integer().default(0),
    maxAttempts: p.integer().default(3),
    timeoutSeconds: p.integer(),
    error: p.json<{ code: string; message: string }>().nullable(),
    result: p.json<unknown>().nullable(),
    cancelRequested: p.boolean().default(false),
    createdBy: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    startedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export class JobRecord extends JobSchema.class {}
JobSchema.setClass(JobRecord);
