import { LabelerError, type OrgRole, type Principal } from '@labeler/core';
import { LockMode } from '@mikro-orm/core';
import type { Em, Orm } from '../../db/orm.js';
import { newId } from '../../lib/ids.js';
import type { AuditService } from '../audit/service.js';
import { NO_WEBHOOK_EVENTS, type WebhookEvents } from '../webhooks/events.js';
import { Membership, Organization } from './entities.js';

export class OrganizationService {
  constructor(
    private readonly orm: Orm,
    private readonly audit: AuditService,
    /** membership.changed, published in the membership write's transaction. */
    private readonly events: WebhookEvents = NO_WEBHOOK_EVENTS,
  ) {}

  /** Throws NOT_FOUND unless the organization exists (before a dataset or key is put in it). */
  async requireExists(organizationId: string): Promise<void> {
    if (await this.orm.em.fork().count(Organization, { id: organizationId })) return;
    throw new LabelerError('NOT_FOUND', `Organization ${organizationId} not found.`, {
      details: { organization_id: organizationId },
    });
  }

  /** All organizations, or only `onlyId`'s (an organization's admin sees its own). */
  async list(onlyId?: string | null) {
    const em = this.orm.em.fork();
    const orgs = await em.find(Organization, onlyId ? { id: onlyId } : {}, { orderBy: { name: 'asc' } });
    const members = await em.find(Membership, { organizationId: { $in: orgs.map((o) => o.id) } });
    return orgs.map((o) => ({
      id: o.id,
      name: o.name,
      slug: o.slug,
      created_at: o.createdAt.toISOString(),
      members: members
        .filter((m) => m.organizationId === o.id)
        .map((m) => ({ user_id: m.userId, role: m.role })),
    }));
  }

  async create(name: string, slug: string, actor: Principal) {
    const em = this.orm.em.fork();
    if (await em.count(Organization, { slug }))
      throw new LabelerError('CONFLICT', `Organization slug "${slug}" is taken.`, { details: { slug } });
    const org = em.create(Organization, { id: newId('organization'), name, slug });
    await em.flush();
    await this.audit.record({
      actor,
      action: 'organization.created',
      targetType: 'organization',
      targetId: org.id,
      organizationId: org.id,
      details: { name, slug },
    });
    return {
      id: org.id,
      name: org.name,
      slug: org.slug,
      created_at: org.createdAt.toISOString(),
      members: [],
    };
  }

  /** `organizationId`'s members by user id (NOT_FOUND for an unknown organization). */
  async listMembers(organizationId: string): Promise<MembershipView[]> {
    await this.requireExists(organizationId);
    const rows = await this.orm.em
      .fork()
      .find(Membership, { organizationId }, { orderBy: { userId: 'asc' } });
    return rows.map(toMembershipView);
  }

  /**
   * Sets `userId`'s role in the organization. Idempotent: a repeat changes nothing, answers the same and
   * writes no audit row. The organization's row lock serialises membership writes of one organization,
   * so concurrent repeats cannot race on the (organization, user) row.
   */
  async setMember(
    organizationId: string,
    userId: number,
    role: OrgRole,
    actor: Principal,
    options: { requestId?: string } = {},
  ): Promise<MembershipView> {
    return this.orm.em.fork().transactional(async (tem) => {
      await this.#lockExisting(tem, organizationId);
      let membership = await tem.findOne(Membership, { organizationId, userId });
      const previous = membership?.role ?? null;
      if (previous === role) return toMembershipView(membership!);
      if (membership) membership.role = role;
      else membership = tem.create(Membership, { id: newId('membership'), organizationId, userId, role });
      await tem.flush();
      await this.audit.record({
        em: tem,
        actor,
        action: 'organization.member_set',
        targetType: 'organization',
        targetId: organizationId,
        organizationId,
        details: { user_id: userId, role, previous_role: previous },
        requestId: options.requestId ?? null,
      });
      await this.events.publish(tem, {
        type: 'membership.changed',
        organizationId,
        actor,
        data: { user_id: userId, role, change: 'set' },
      });
      return toMembershipView(membership);
    });
  }

  /** Removes `userId` from the organization; false (and no audit row) when it was no member. */
  async removeMember(
    organizationId: string,
    userId: number,
    actor: Principal,
    options: { requestId?: string } = {},
  ): Promise<boolean> {
    return this.orm.em.fork().transactional(async (tem) => {
      await this.#lockExisting(tem, organizationId);
      const removed = await tem.nativeDelete(Membership, { organizationId, userId });
      if (removed) {
        await this.audit.record({
          em: tem,
          actor,
          action: 'organization.member_removed',
          targetType: 'organization',
          targetId: organizationId,
          organizationId,
          details: { user_id: userId },
          requestId: options.requestId ?? null,
        });
        await this.events.publish(tem, {
          type: 'membership.changed',
          organizationId,
          actor,
          data: { user_id: userId, role: null, change: 'removed' },
        });
      }
      return removed > 0;
    });
  }

  async #lockExisting(em: Em, organizationId: string): Promise<void> {
    const org = await em.findOne(
      Organization,
      { id: organizationId },
      { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
    );
    if (!org) await this.requireExists(organizationId);
  }
}

export interface MembershipView {
  organization_id: string;
  user_id: number;
  role: OrgRole;
  created_at: string;
}

function toMembershipView(m: Membership): MembershipView {
  return {
    organization_id: m.organizationId,
    user_id: m.userId,
    role: m.role,
    created_at: m.createdAt.toISOString(),
  };
}
