import type { Principal } from '@labeler/core';
import type { FastSql } from '../../db/fast-sql.js';
import type { Em, Orm } from '../../db/orm.js';
import { newId } from '../../lib/ids.js';
import { AuditEvent } from './entities.js';

export interface AuditRecordInput {
  actor: Principal | null;
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  details?: Record<string, unknown>;
  requestId?: string | null;
  ip?: string | null;
  /** Record inside this transaction. */
  em?: Em;
}

export interface AuditFilter {
  action?: string;
  actorId?: string;
  targetId?: string;
  since?: Date;
  until?: Date;
  limit?: number;
  cursor?: string;
}

export class AuditService {
  constructor(
    private readonly orm: Orm,
    /** Prepared statements for appends outside a transaction (download URLs write one per call). */
    private readonly sql?: FastSql,
  ) {}

  /**
   * One INSERT, on the caller's transaction when given (tem.execute runs inside it); no unit of work, since
   * audit rows are only ever appended. Download URLs write one per call, so this is on a hot path.
   */
  async record(input: AuditRecordInput): Promise<void> {
    const values = [
      newId('audit'),
      input.actor?.kind ?? 'system',
      input.actor?.id ?? null,
      input.actor?.name ?? null,
      input.action,
      input.targetType ?? null,
      input.targetId ?? null,
      JSON.stringify(input.details ?? {}),
      input.requestId ?? null,
      input.ip ?? null,
    ];
    const columns = `"id", "at", "actor_kind", "actor_id", "actor_name", "action", "target_type", "target_id", "details", "request_id", "ip"`;
    if (!input.em && this.sql) {
      await this.sql.query(
        `insert into "audit_event" (${columns}) values ($1, now(), $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10)`,
        values,
      );
      return;
    }
    await (input.em ?? this.orm.em).execute(
      `insert into "audit_event" (${columns}) values (?, now(), ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?)`,
      values,
    );
  }

  /** Newest first; the cursor is the last event's id (ids sort with their time through the index on at). */
  async list(filter: AuditFilter) {
    const em = this.orm.em.fork();
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
    const where: Record<string, unknown> = {};
    if (filter.action) where.action = { $like: `${filter.action.replace(/[\\%_]/g, (c) => `\\${c}`)}%` };
    if (filter.actorId) where.actorId = filter.actorId;
    if (filter.targetId) where.targetId = filter.targetId;
    const at: Record<string, Date> = {};
    if (filter.since) at.$gte = filter.since;
    if (filter.until) at.$lte = filter.until;
    if (filter.cursor) {
      const cursorEvent = await em.findOne(AuditEvent, { id: filter.cursor });
      if (cursorEvent)
        where.$or = [{ at: { $lt: cursorEvent.at } }, { at: cursorEvent.at, id: { $lt: cursorEvent.id } }];
    }
    if (Object.keys(at).length) where.at = at;
    const rows = await em.find(AuditEvent, where, { orderBy: { at: 'desc', id: 'desc' }, limit: limit + 1 });
    const page = rows.slice(0, limit);
    return {
      events: page.map((e) => ({
        id: e.id,
        at: e.at.toISOString(),
        actor_kind: e.actorKind,
        actor_id: e.actorId ?? null,
        actor_name: e.actorName ?? null,
        action: e.action,
        target_type: e.targetType ?? null,
        target_id: e.targetId ?? null,
        details: e.details,
        request_id: e.requestId ?? null,
        ip: e.ip ?? null,
      })),
      next_cursor: rows.length > limit ? (page[page.length - 1]?.id ?? null) : null,
    };
  }
}
