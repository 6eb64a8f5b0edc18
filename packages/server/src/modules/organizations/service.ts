import { LabelerError, type Principal } from '@labeler/core';
import type { Orm } from '../../db/orm.js';
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

  async setMember(organizationId: string, userId: number, role: 'admin' | 'member', actor: Principal) {
    await this.requireExists(organizationId);
    await this.orm.em.fork().transactional(async (em) => {
      const existing = await em.findOne(Membership, { organizationId, userId });
      if (existing) existing.role = role;
      else em.create(Membership, { id: newId('membership'), organizationId, userId, role });
      await this.events.publish(em, {
        type: 'membership.changed',
        organizationId,
        actor,
        data: { user_id: userId, role, change: 'set' },
      });
    });
    await this.audit.record({
      actor,
      action: 'organization.member_set',
      targetType: 'organization',
      targetId: organizationId,
      organizationId,
      details: { user_id: userId, role },
    });
  }

  async removeMember(organizationId: string, userId: number, actor: Principal) {
    const removed = await this.orm.em.fork().transactional(async (em) => {
      const count = await em.nativeDelete(Membership, { organizationId, userId });
      if (count)
        await this.events.publish(em, {
          type: 'membership.changed',
          organizationId,
          actor,
          data: { user_id: userId, role: null, change: 'removed' },
        });
      return count;
    });
    if (removed)
      await this.audit.record({
        actor,
        action: 'organization.member_removed',
        targetType: 'organization',
        targetId: organizationId,
        organizationId,
        details: { user_id: userId },
      });
    return removed > 0;
  }
}
