import {
  LabelerError,
  type Principal,
  type Scope,
  type ServiceAccount as ServiceAccountView,
} from '@labeler/core';
import type { ChangeFeed } from '../../db/change-feed.js';
import type { Orm } from '../../db/orm.js';
import { newId } from '../../lib/ids.js';
import type { AuditService } from '../audit/service.js';
import { ServiceAccount } from './entities.js';
import { type CachedAccount, INVALIDATION_CHANNEL, ServiceAccountKeyCache } from './key-cache.js';
import { displayPrefix, generateServiceAccountKey, hashKey, isWellFormedServiceAccountKey } from './keys.js';

export interface CreatedServiceAccount {
  service_account_id: string;
  name: string;
  /** The organization the key acts in; null: platform-wide. */
  organization_id: string | null;
  api_key: string;
  key_prefix: string;
  scopes: Scope[];
  expires_at: string | null;
  created_at: string;
}

export interface ServiceAccountUsage {
  request_count: number;
  rate_limited_count: number;
}

type AuthFailure = 'malformed' | 'unknown_key' | 'revoked' | 'expired';

const USAGE_FLUSH_MS = 5000;

export class ServiceAccountService {
  /** Usage counters are buffered in memory and flushed in one statement per account, off the hot path. */
  readonly #pendingUsage = new Map<string, { requests: number; limited: number; lastUsed: Date }>();
  #flushTimer: NodeJS.Timeout | null = null;

  readonly #keys: ServiceAccountKeyCache;

  constructor(
    private readonly orm: Orm,
    private readonly audit: AuditService,
    /** Delivers other processes' key changes (see key-cache.ts). */
    changes: ChangeFeed,
  ) {
    this.#keys = new ServiceAccountKeyCache(changes);
  }

  /** Drops cached keys here and in every other process (after revoke, rotate, re-key). */
  async invalidateKeys(): Promise<void> {
    this.#keys.clear();
    await this.orm.em.execute(`select pg_notify('${INVALIDATION_CHANNEL}', '')`).catch(() => undefined);
  }

  static toView(
    sa: ServiceAccount,
    now = new Date(),
  ): ServiceAccountView &
    ServiceAccountUsage & {
      organization_id: string | null;
      bootstrap: boolean;
      previous_key_expires_at: string | null;
    } {
    const status = sa.revokedAt ? 'revoked' : sa.expiresAt && sa.expiresAt <= now ? 'expired' : 'active';
    return {
      id: sa.id,
      name: sa.name,
      organization_id: sa.organizationId ?? null,
      key_prefix: sa.keyPrefix,
      scopes: sa.scopes as Scope[],
      created_at: sa.createdAt.toISOString(),
      expires_at: sa.expiresAt?.toISOString() ?? null,
      revoked_at: sa.revokedAt?.toISOString() ?? null,
      last_used_at: sa.lastUsedAt?.toISOString() ?? null,
      status,
      request_count: Number(sa.requestCount),
      rate_limited_count: Number(sa.rateLimitedCount),
      bootstrap: sa.bootstrap,
      previous_key_expires_at:
        sa.previousKeyExpiresAt && sa.previousKeyExpiresAt > now
          ? sa.previousKeyExpiresAt.toISOString()
          : null,
    };
  }

  /**
   * `organizationId`: the organization the key acts in (its reads see public datasets and that
   * organization's, its writes only that organization's); null: platform-wide; undefined: the actor's own.
   * Callers check that an organization's actor names only its own (organizations/tenancy.ts).
   */
  async create(
    input: { name: string; scopes: Scope[]; expiresAt?: Date | null; organizationId?: string | null },
    actor: Principal | null,
  ): Promise<CreatedServiceAccount> {
    const em = this.orm.em.fork();
    const { key, prefix, hash } = generateServiceAccountKey();
    const sa = em.create(ServiceAccount, {
      id: newId('serviceAccount'),
      name: input.name,
      organizationId:
        input.organizationId !== undefined ? input.organizationId : (actor?.organizationId ?? null),
      keyPrefix: prefix,
      keyHash: hash,
      scopes: [...new Set(input.scopes)],
      createdBy: actor?.id ?? null,
      expiresAt: input.expiresAt ?? null,
    });
    await em.flush();
    await this.audit.record({
      actor,
      action: 'service_account.created',
      targetType: 'service_account',
      targetId: sa.id,
      organizationId: sa.organizationId ?? null,
      details: {
        name: sa.name,
        scopes: sa.scopes,
        key_prefix: prefix,
        organization_id: sa.organizationId ?? null,
      },
    });
    return ServiceAccountService.issued(sa, key);
  }

  /** The once-only answer carrying a newly issued key. */
  static issued(sa: ServiceAccount, key: string): CreatedServiceAccount {
    return {
      service_account_id: sa.id,
      name: sa.name,
      organization_id: sa.organizationId ?? null,
      api_key: key,
      key_prefix: sa.keyPrefix,
      scopes: sa.scopes as Scope[],
      expires_at: sa.expiresAt?.toISOString() ?? null,
      created_at: sa.createdAt.toISOString(),
    };
  }

  /** Every account, or only `organizationId`'s (what an organization's admin may see). */
  async list(organizationId?: string | null): Promise<ReturnType<typeof ServiceAccountService.toView>[]> {
    const rows = await this.orm.em
      .fork()
      .find(ServiceAccount, organizationId ? { organizationId } : {}, { orderBy: { createdAt: 'desc' } });
    return rows.map((sa) => ServiceAccountService.toView(sa));
  }

  async get(id: string): Promise<ServiceAccount> {
    const sa = await this.orm.em.fork().findOne(ServiceAccount, { id });
    if (!sa)
      throw new LabelerError('SERVICE_ACCOUNT_NOT_FOUND', `Service account ${id} not found.`, {
        details: { service_account_id: id },
      });
    return sa;
  }

  /** Immediate: the next request with this key (or its previous key) is refused. */
  async revoke(
    id: string,
    actor: Principal | null,
  ): Promise<ReturnType<typeof ServiceAccountService.toView>> {
    const em = this.orm.em.fork();
    const sa = await em.findOne(ServiceAccount, { id });
    // An organization's admin manages only its organization's accounts; others answer like missing ones.
    if (!sa || (actor?.organizationId && sa.organizationId !== actor.organizationId))
      throw new LabelerError('SERVICE_ACCOUNT_NOT_FOUND', `Service account ${id} not found.`, {
        details: { service_account_id: id },
      });
    if (sa.bootstrap)
      throw new LabelerError(
        'CONFLICT',
        'The bootstrap admin account comes from LABELER_ADMIN_TOKEN; unset or change that variable instead.',
        { details: { service_account_id: id } },
      );
    if (!sa.revokedAt) {
      sa.revokedAt = new Date();
      sa.previousKeyExpiresAt = null;
      await em.flush();
      await this.invalidateKeys();
      await this.audit.record({
        actor,
        action: 'service_account.revoked',
        targetType: 'service_account',
        targetId: sa.id,
        organizationId: sa.organizationId ?? null,
        details: { name: sa.name },
      });
    }
    return ServiceAccountService.toView(sa);
  }

  /** Issues a new key; the old one keeps working for `overlapSeconds` (0 = immediately invalid). */
  async rotate(
    id: string,
    overlapSeconds: number,
    actor: Principal | null,
  ): Promise<CreatedServiceAccount & { previous_key_expires_at: string | null }> {
    const em = this.orm.em.fork();
    const sa = await em.findOne(ServiceAccount, { id });
    // An organization's admin manages only its organization's accounts; others answer like missing ones.
    if (!sa || (actor?.organizationId && sa.organizationId !== actor.organizationId))
      throw new LabelerError('SERVICE_ACCOUNT_NOT_FOUND', `Service account ${id} not found.`, {
        details: { service_account_id: id },
      });
    if (sa.revokedAt)
      throw new LabelerError('CONFLICT', 'A revoked service account cannot be rotated; create a new one.', {
        details: { service_account_id: id },
      });
    const { key, prefix, hash } = generateServiceAccountKey();
    sa.previousKeyHash = overlapSeconds > 0 ? sa.keyHash : null;
    sa.previousKeyExpiresAt = overlapSeconds > 0 ? new Date(Date.now() + overlapSeconds * 1000) : null;
    sa.keyHash = hash;
    sa.keyPrefix = prefix;
    await em.flush();
    await this.invalidateKeys();
    await this.audit.record({
      actor,
      action: 'service_account.rotated',
      targetType: 'service_account',
      targetId: sa.id,
      organizationId: sa.organizationId ?? null,
      details: { overlap_seconds: overlapSeconds, key_prefix: prefix },
    });
    return {
      ...ServiceAccountService.issued(sa, key),
      previous_key_expires_at: sa.previousKeyExpiresAt?.toISOString() ?? null,
    };
  }

  /** Creates or re-keys the bootstrap admin account from LABELER_ADMIN_TOKEN. */
  async ensureBootstrap(token: string): Promise<void> {
    const em = this.orm.em.fork();
    const hash = hashKey(token);
    const existing = await em.findOne(ServiceAccount, { bootstrap: true });
    if (existing) {
      if (existing.keyHash !== hash || existing.revokedAt) {
        existing.keyHash = hash;
        existing.keyPrefix = displayPrefix(token).replace(/./g, (c, i) => (i < 4 ? c : '*'));
        existing.revokedAt = null;
        await em.flush();
        await this.invalidateKeys();
      }
      return;
    }
    em.create(ServiceAccount, {
      id: newId('serviceAccount'),
      name: 'bootstrap-admin (LABELER_ADMIN_TOKEN)',
      keyPrefix: displayPrefix(token).replace(/./g, (c, i) => (i < 4 ? c : '*')),
      keyHash: hash,
      scopes: ['admin'],
      bootstrap: true,
    });
    await em.flush();
  }

  /**
   * Bearer key → principal. Throws UNAUTHENTICATED with a reason that says what to do; never says whether
   * an unknown key exists elsewhere.
   */
  async authenticate(key: string): Promise<Principal> {
    const fail = (reason: AuthFailure, message: string): never => {
      throw new LabelerError('UNAUTHENTICATED', message, { details: { reason } });
    };
    const isGenerated = key.startsWith('lbl_sa_');
    if (isGenerated ? !isWellFormedServiceAccountKey(key) : key.length < 24 || key.length > 512) {
      fail('malformed', 'The API key is malformed. Keys look like lbl_sa_… and are shown once when created.');
    }
    const hash = hashKey(key);
    const sa = this.#keys.get(hash) ?? (await this.#lookup(hash));
    const now = new Date();
    if (!sa)
      return fail(
        'unknown_key',
        'The API key is not recognised. Check the key, or create a new service account.',
      );
    if (sa.revokedAt) fail('revoked', 'This API key has been revoked. Create a new service account key.');
    if (sa.expiresAt && sa.expiresAt <= now)
      fail('expired', 'This API key has expired. Rotate the key or create a new service account.');
    if (sa.keyHash !== hash && (!sa.previousKeyExpiresAt || sa.previousKeyExpiresAt <= now)) {
      fail('expired', 'This API key was rotated and its overlap window has ended. Use the new key.');
    }
    this.noteUsage(sa.id, false);
    return {
      kind: 'service_account',
      id: sa.id,
      name: sa.name,
      organizationId: sa.organizationId ?? null,
      roles: [],
      scopes: sa.scopes as Scope[],
      authenticatedBy: 'service-account-key',
    };
  }

  /** One indexed lookup by key hash (current or previous key); cached on success. */
  async #lookup(hash: string): Promise<CachedAccount | null> {
    const rows = (await this.orm.em.execute(
      `select "id", "name", "organization_id", "scopes", "key_hash", "previous_key_hash", "previous_key_expires_at", "expires_at", "revoked_at"
       from "service_account" where "key_hash" = ? or "previous_key_hash" = ? limit 1`,
      [hash, hash],
    )) as Array<Record<string, unknown>>;
    const row = rows[0];
    if (!row) return null;
    const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));
    const account: CachedAccount = {
      id: String(row.id),
      name: String(row.name),
      organizationId: (row.organization_id as string | null) ?? null,
      scopes: (row.scopes as string[]) ?? [],
      keyHash: String(row.key_hash),
      previousKeyHash: (row.previous_key_hash as string | null) ?? null,
      previousKeyExpiresAt: date(row.previous_key_expires_at),
      expiresAt: date(row.expires_at),
      revokedAt: date(row.revoked_at),
    };
    this.#keys.set(hash, account);
    return account;
  }

  noteUsage(id: string, rateLimited: boolean): void {
    const entry = this.#pendingUsage.get(id) ?? { requests: 0, limited: 0, lastUsed: new Date() };
    if (rateLimited) entry.limited += 1;
    else entry.requests += 1;
    entry.lastUsed = new Date();
    this.#pendingUsage.set(id, entry);
    this.#flushTimer ??= setTimeout(() => void this.flushUsage(), USAGE_FLUSH_MS).unref();
  }

  async flushUsage(): Promise<void> {
    this.#flushTimer = null;
    const batch = [...this.#pendingUsage.entries()];
    this.#pendingUsage.clear();
    if (!batch.length) return;
    const em = this.orm.em.fork();
    await Promise.all(
      batch.map(([id, u]) =>
        em
          .getConnection()
          .execute(
            'update "service_account" set "request_count" = "request_count" + ?, "rate_limited_count" = "rate_limited_count" + ?, "last_used_at" = greatest("last_used_at", ?) where "id" = ?',
            [u.requests, u.limited, u.lastUsed, id],
          )
          .catch(() => undefined),
      ),
    );
  }

  async stop(): Promise<void> {
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    await this.flushUsage().catch(() => undefined);
  }
}
