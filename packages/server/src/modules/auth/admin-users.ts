import { LabelerError, type Principal } from '@labeler/core';
import type { Orm } from '../../db/orm.js';
import { randomToken, sha256Hex } from '../../lib/crypto.js';
import { newId } from '../../lib/ids.js';
import type { AuditService } from '../audit/service.js';
import { AdminSession, AdminUser } from './entities.js';
import { hashPassword, verifyPassword } from './passwords.js';

export const SESSION_COOKIE = 'labeler_session';
export const LOCALES = ['en', 'ko', 'zh'] as const;
export type Locale = (typeof LOCALES)[number];

export interface SessionInfo {
  user: { id: string; email: string; name: string; locale: string };
  csrf_token: string;
  expires_at: string;
}

// A fixed hash to verify against when the email is unknown, so timing does not reveal which emails exist.
let dummyHash: Promise<string> | null = null;

export class AdminUserService {
  constructor(
    private readonly orm: Orm,
    private readonly audit: AuditService,
    private readonly sessionTtlHours: number,
  ) {}

  async count(): Promise<number> {
    return this.orm.em.fork().count(AdminUser, {});
  }

  async create(
    input: { email: string; name?: string; password: string; locale?: Locale },
    actor: Principal | null,
  ): Promise<{ id: string; email: string }> {
    const em = this.orm.em.fork();
    const email = input.email.trim().toLowerCase();
    if (await em.count(AdminUser, { email }))
      throw new LabelerError('CONFLICT', `An admin with email ${email} already exists.`, {
        details: { email },
      });
    const user = em.create(AdminUser, {
      id: newId('adminUser'),
      email,
      name: input.name ?? email.split('@')[0]!,
      passwordHash: await hashPassword(input.password),
      locale: input.locale ?? 'en',
    });
    await em.flush();
    await this.audit.record({
      actor,
      action: 'admin_user.created',
      targetType: 'admin_user',
      targetId: user.id,
      details: { email },
    });
    return { id: user.id, email };
  }

  /** Creates the first admin from the environment when there is none yet. */
  async ensureBootstrap(email: string, password: string): Promise<boolean> {
    if ((await this.count()) > 0) return false;
    await this.create({ email, password, name: 'Administrator' }, null);
    return true;
  }

  async signIn(
    email: string,
    password: string,
    meta: { ip: string | null; userAgent: string | null },
  ): Promise<{ token: string; session: SessionInfo }> {
    const em = this.orm.em.fork();
    const user = await em.findOne(AdminUser, { email: email.trim().toLowerCase() });
    dummyHash ??= hashPassword('not-a-real-password');
    const ok =
      user && !user.disabledAt
        ? await verifyPassword(password, user.passwordHash)
        : await verifyPassword(password, await dummyHash).then(() => false);
    if (!user || !ok) {
      await this.audit.record({
        actor: null,
        action: 'admin.sign_in_failed',
        details: { email: email.slice(0, 200) },
        ip: meta.ip,
      });
      throw new LabelerError('UNAUTHENTICATED', 'Email or password is incorrect.', {
        details: { reason: 'bad_credentials' },
      });
    }
    const token = randomToken(32);
    const session = em.create(AdminSession, {
      id: sha256Hex(token),
      userId: user.id,
      csrfToken: randomToken(24),
      expiresAt: new Date(Date.now() + this.sessionTtlHours * 3600_000),
      ip: meta.ip,
      userAgent: meta.userAgent?.slice(0, 500) ?? null,
    });
    user.lastLoginAt = new Date();
    await em.flush();
    await this.audit.record({
      actor: this.#principal(user),
      action: 'admin.signed_in',
      targetType: 'admin_user',
      targetId: user.id,
      ip: meta.ip,
    });
    return { token, session: this.#sessionInfo(user, session) };
  }

  async signOut(token: string): Promise<void> {
    await this.orm.em.fork().nativeDelete(AdminSession, { id: sha256Hex(token) });
  }

  /** Session cookie → user and session, or null when missing/expired. */
  async resolveSession(token: string): Promise<{ user: AdminUser; session: AdminSession } | null> {
    const em = this.orm.em.fork();
    const session = await em.findOne(AdminSession, { id: sha256Hex(token) });
    if (!session || session.expiresAt <= new Date()) return null;
    const user = await em.findOne(AdminUser, { id: session.userId });
    if (!user || user.disabledAt) return null;
    return { user, session };
  }

  async sessionInfo(token: string): Promise<SessionInfo | null> {
    const resolved = await this.resolveSession(token);
    return resolved ? this.#sessionInfo(resolved.user, resolved.session) : null;
  }

  async setLocale(userId: string, locale: Locale): Promise<void> {
    await this.orm.em.fork().nativeUpdate(AdminUser, { id: userId }, { locale });
  }

  #sessionInfo(user: AdminUser, session: AdminSession): SessionInfo {
    return {
      user: { id: user.id, email: user.email, name: user.name, locale: user.locale },
      csrf_token: session.csrfToken,
      expires_at: session.expiresAt.toISOString(),
    };
  }

  #principal(user: AdminUser): Principal {
    return {
      kind: 'admin_user',
      id: user.id,
      name: user.email,
      organizationId: user.organizationId ?? null,
      roles: ['admin'],
      scopes: ['admin'],
      authenticatedBy: 'local-admin',
    };
  }

  principalFor(user: AdminUser): Principal {
    return this.#principal(user);
  }
}
