import { defineEntity, p } from '@mikro-orm/core';

export const AdminUserSchema = defineEntity({
  name: 'AdminUser',
  tableName: 'admin_user',
  properties: {
    id: p.string().primary(),
    email: p.string().unique(),
    name: p.string(),
    /** scrypt: "scrypt$N$r$p$salt$hash" (base64). */
    passwordHash: p.string(),
    organizationId: p.string().nullable(),
    locale: p.string().default('en'),
    createdAt: p.datetime().onCreate(() => new Date()),
    lastLoginAt: p.datetime().nullable(),
    disabledAt: p.datetime().nullable(),
  },
});
export class AdminUser extends AdminUserSchema.class {}
AdminUserSchema.setClass(AdminUser);

/** Console session; the cookie holds a random token, the row its sha256. */
export const AdminSessionSchema = defineEntity({
  name: 'AdminSession',
  tableName: 'admin_session',
  indexes: [{ properties: ['userId'] }],
  properties: {
    id: p.string().primary(),
    userId: p.string(),
    csrfToken: p.string(),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime(),
    lastSeenAt: p.datetime().onCreate(() => new Date()),
    ip: p.string().nullable(),
    userAgent: p.text().nullable(),
  },
});
export class AdminSession extends AdminSessionSchema.class {}
AdminSessionSchema.setClass(AdminSession);
