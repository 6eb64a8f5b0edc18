import type { Principal } from '@labeler/core';
import type { FastSql } from '../../db/fast-sql.js';
import type { Em, Orm } from '../../db/orm.js';
import { newId } from '../../lib/ids.js';
import { AuditEvent } from './entities.js';

export interface AuditRecordInput {
  actor: Principal | null;
  action: string;
  /**
   * The organization of what the event concerns (a dataset's, a key's, the organization itself); null:
   * nothing organization's. Not given: the actor's organization (an organization's actor acts only there).
   */
  organizationId?: string | null;
  targetType?: string | null;
  targetId?: string | null;
  details?: Record<string, unknown>;
  requestId?: string | null;
  ip?: string | null;
  /** Record inside this transaction. */
  em?: Em;
}

export interface AuditFilter {
  /** Only this organization's events (what an organization's admin may read); not given: all. */
  organizationId?: string;
  action?: string;
  actorId?: string;
  targetId?: string;
  since?: Date;
  until?: Date;
  limit?: number;
  cursor?: string;
}

/** Inserts the audit rows given as a JSON array in one parameter, written `placeholder`. */
const insertRows = (placeholder: string) =>
  `insert into "audit_event" ("id", "at", "actor_kind", "actor_id", "actor_name", "organization_id", "action", "target_type", "target_id", "details", "request_id", "ip")
    select r."id", now(), r."actor_kind", r."actor_id", r."actor_name", r."organization_id", r."action", r."target_type", r."target_id",
      coalesce(r."details", '{}'), r."request_id", r."ip"
    from json_to_recordset(${placeholder}::json) as r("id" text, "actor_kind" text, "actor_id" text, "actor_name" text,
      "organization_id" text, "action" text, "target_type" text, "target_id" text, "details" jsonb, "request_id" text, "ip" text)`;
/** For FastSql (grouped appends). */
const INSERT_ROWS = insertRows('$1');
/** For MikroORM's execute (inside a caller's transaction). */
const INSERT_ROWS_ORM = insertRows('?');

/** An audit row as the grouped insert reads it (json_to_recordset). */
interface AuditRow {
  id: string;
  actor_kind: string;
  actor_id: string | null;
  actor_name: string | null;
  organization_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  details: Record<string, unknown>;
  request_id: string | null;
  ip: string | null;
}

/** Rows per grouped insert; more wait for the next. */
const MAX_GROUP = 500;
/** Grouped inserts in flight at once. */
const MAX_IN_FLIGHT = 2;

/** A row waiting for a grouped insert, and how to tell its caller the outcome. */
interface PendingRow {
  row: AuditRow;
  done: (error?: unknown) => void;
}

export class AuditService {
  readonly #queue: PendingRow[] = [];
  #inFlight = 0;

  constructor(
    private readonly orm: Orm,
    /** Prepared statements for appends outside a transaction (download URLs write one per call). */
    private readonly sql?: FastSql,
  ) {}

  /**
   * One INSERT, on the caller's transaction when given (tem.execute runs inside it); no unit of work, since
   * audit rows are only ever appended. Download URLs write one per call, so this is on a hot path: outside
   * a transaction, rows from concurrent requests are inserted together (see #append).
   */
  async record(input: AuditRecordInput): Promise<void> {
    const row: AuditRow = {
      id: newId('audit'),
      actor_kind: input.actor?.kind ?? 'system',
      actor_id: input.actor?.id ?? null,
      actor_name: input.actor?.name ?? null,
      organization_id:
        input.organizationId !== undefined ? input.organizationId : (input.actor?.organizationId ?? null),
      action: input.action,
      target_type: input.targetType ?? null,
      target_id: input.targetId ?? null,
      details: input.details ?? {},
      request_id: input.requestId ?? null,
      ip: input.ip ?? null,
    };
    if (!input.em && this.sql) return this.#append(row);
    await (input.em ?? this.orm.em).execute(INSERT_ROWS_ORM, [JSON.stringify([row])]);
  }

  /**
   * Resolves once the row is committed. Rows that arrive while inserts are in flight wait and go together
   * in the next insert (group commit): under load one statement and one WAL flush serve many requests,
   * and a lone row is inserted at once, as before. If a grouped insert fails, its rows are retried one by
   * one, so a bad row fails only its own request.
   */
  #append(row: AuditRow): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ row, done: (error) => (error === undefined ? resolve() : reject(error)) });
      this.#drain();
    });
  }

  #drain(): void {
    while (this.#inFlight < MAX_IN_FLIGHT && this.#queue.length) {
      const group = this.#queue.splice(0, MAX_GROUP);
      this.#inFlight++;
      void this.#insert(group).finally(() => {
        this.#inFlight--;
        this.#drain();
      });
    }
  }

  async #insert(group: PendingRow[]): Promise<void> {
    const insert = (rows: AuditRow[]) => this.sql!.query(INSERT_ROWS, [JSON.stringify(rows)]);
    try {
      await insert(group.map((entry) => entry.row));
      for (const entry of group) entry.done();
    } catch (error) {
      if (group.length === 1) {
        group[0]!.done(error);
        return;
      }
      for (const entry of group)
        await insert([entry.row]).then(
          () => entry.done(),
          (rowError: unknown) => entry.done(rowError),
        );
    }
  }

  /** Newest first; the cursor is the last event's id (ids sort with their time through the index on at). */
  async list(filter: AuditFilter) {
    const em = this.orm.em.fork();
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
    const where: Record<string, unknown> = {};
    if (filter.organizationId) where.organizationId = filter.organizationId;
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
        organization_id: e.organizationId ?? null,
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
