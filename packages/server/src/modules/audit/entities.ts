import { defineEntity, p } from '@mikro-orm/core';

export const AuditEventSchema = defineEntity({
  name: 'AuditEvent',
  tableName: 'audit_event',
  indexes: [
    { properties: ['at'] },
    { properties: ['action', 'at'] },
    { properties: ['actorId', 'at'] },
    { properties: ['targetId', 'at'] },
    { properties: ['organizationId', 'at'] },
  ],
  properties: {
    id: p.string().primary(),
    at: p.datetime().onCreate(() => new Date()),
    actorKind: p.string(),
    actorId: p.string().nullable(),
    actorName: p.string().nullable(),
    /**
     * The organization the event belongs to (its target's, else its actor's); null: platform-wide. An
     * organization's admin reads only its organization's events.
     */
    organizationId: p.string().nullable(),
    action: p.string(),
    targetType: p.string().nullable(),
    targetId: p.string().nullable(),
    details: p.json<Record<string, unknown>>().defaultRaw(`'{}'::jsonb`),
    requestId: p.string().nullable(),
    ip: p.string().nullable(),
  },
});
export class AuditEvent extends AuditEventSchema.class {}
AuditEventSchema.setClass(AuditEvent);
