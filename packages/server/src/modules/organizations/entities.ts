import { defineEntity, p } from '@mikro-orm/core';

export const OrganizationSchema = defineEntity({
  name: 'Organization',
  tableName: 'organization',
  properties: {
    id: p.string().primary(),
    name: p.string(),
    slug: p.string().unique(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class Organization extends OrganizationSchema.class {}
OrganizationSchema.setClass(Organization);

/** A Platform user, keyed by the Platform's integer id. */
export const PlatformUserSchema = defineEntity({
  name: 'PlatformUser',
  tableName: 'platform_user',
  properties: {
    id: p.integer().primary().autoincrement(false),
    displayName: p.string().nullable(),
    email: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class PlatformUser extends PlatformUserSchema.class {}
PlatformUserSchema.setClass(PlatformUser);

export const MembershipSchema = defineEntity({
  name: 'Membership',
  tableName: 'membership',
  uniques: [{ properties: ['organizationId', 'userId'] }],
  indexes: [{ properties: ['userId'] }],
  properties: {
    id: p.string().primary(),
    organizationId: p.string(),
    userId: p.integer(),
    role: p.enum(['admin', 'member'] as const),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class Membership extends MembershipSchema.class {}
MembershipSchema.setClass(Membership);
