import { SERVICE_ACCOUNT_SCOPES, serviceAccountIdSchema } from '@labeler/core';
import { z } from 'zod';
import { adminProcedure, router } from '../../trpc/init.js';
import { assertOwnOrganization } from '../organizations/tenancy.js';

const PLATFORM_SCOPES = [
  'datasets:read',
  'datasets:download',
  'datasets:permissions',
  'datasets:write',
  'permissions:write',
  'memberships:write',
  'admin',
] as const satisfies readonly (typeof SERVICE_ACCOUNT_SCOPES)[number][];

const organizationId = z
  .string()
  .nullable()
  .describe('The organization the key acts in; null: platform-wide (sees and writes every organization)');

const createdOutput = z.object({
  service_account_id: z.string(),
  name: z.string(),
  organization_id: organizationId,
  api_key: z.string().describe('Shown once: store it now. Only its hash is kept.'),
  key_prefix: z.string(),
  scopes: z.array(z.enum(SERVICE_ACCOUNT_SCOPES)),
  expires_at: z.string().nullable(),
  created_at: z.string(),
});

const viewSchema = z.object({
  id: z.string(),
  name: z.string(),
  organization_id: organizationId,
  key_prefix: z.string(),
  scopes: z.array(z.enum(SERVICE_ACCOUNT_SCOPES)),
  created_at: z.string(),
  expires_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
  last_used_at: z.string().nullable(),
  status: z.enum(['active', 'revoked', 'expired']),
  request_count: z.number(),
  rate_limited_count: z.number(),
  bootstrap: z.boolean(),
  previous_key_expires_at: z.string().nullable(),
});

const TAG = 'Service accounts';

export const serviceAccountsRouter = router({
  create: adminProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/auth/service-accounts',
        tags: [TAG],
        summary: 'Create a service account; returns its key once',
        description:
          "`organization_id` puts the key in an organization: its reads see public datasets and that organization's, its writes only that organization's datasets. A platform-wide admin may name any existing organization (unknown → 404 NOT_FOUND) or null (platform-wide); an organization's admin only its own (the default for it; another → 403 ACCESS_DENIED).",
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(
      z.object({
        service_name: z
          .string()
          .trim()
          .min(1)
          .max(100)
          .regex(/^[\p{L}\p{N} ._:@/-]+$/u, 'may contain letters, digits, spaces and . _ : @ / -'),
        scopes: z.array(z.enum(PLATFORM_SCOPES)).min(1).max(PLATFORM_SCOPES.length),
        expires_at: z.iso.datetime({ offset: true }).nullable().optional(),
        expires_in_days: z.number().int().min(1).max(3650).optional(),
        organization_id: z
          .string()
          .min(1)
          .max(64)
          .nullable()
          .optional()
          .describe(
            "Organization the key acts in; default: the caller's (platform-wide for a platform admin)",
          ),
      }),
    )
    .output(createdOutput)
    .mutation(async ({ ctx, input }) => {
      assertOwnOrganization(ctx.principal, input.organization_id);
      if (input.organization_id) await ctx.app.organizations.requireExists(input.organization_id);
      const expiresAt = input.expires_at
        ? new Date(input.expires_at)
        : input.expires_in_days
          ? new Date(Date.now() + input.expires_in_days * 86400_000)
          : null;
      ctx.response.status = 201;
      return ctx.app.serviceAccounts.create(
        {
          name: input.service_name,
          scopes: input.scopes,
          expiresAt,
          ...(input.organization_id !== undefined ? { organizationId: input.organization_id } : {}),
        },
        ctx.principal,
      );
    }),

  list: adminProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/auth/service-accounts',
        tags: [TAG],
        summary: "List service accounts (never their keys); an organization's admin sees its organization's",
        errorResponses: [401, 403],
      },
    })
    .input(z.object({}).optional())
    .output(z.object({ service_accounts: z.array(viewSchema) }))
    .query(async ({ ctx }) => ({
      service_accounts: await ctx.app.serviceAccounts.list(ctx.principal.organizationId),
    })),

  revoke: adminProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/auth/service-accounts/{service_account_id}/revoke',
        tags: [TAG],
        summary: 'Revoke immediately',
        errorResponses: [400, 401, 403, 404, 409],
      },
    })
    .input(z.object({ service_account_id: serviceAccountIdSchema }))
    .output(viewSchema)
    .mutation(async ({ ctx, input }) =>
      ctx.app.serviceAccounts.revoke(input.service_account_id, ctx.principal),
    ),

  rotate: adminProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/auth/service-accounts/{service_account_id}/rotate',
        tags: [TAG],
        summary: 'Issue a new key; the old one stays valid for the overlap window',
        errorResponses: [400, 401, 403, 404, 409],
      },
    })
    .input(
      z.object({
        service_account_id: serviceAccountIdSchema,
        overlap_seconds: z
          .number()
          .int()
          .min(0)
          .max(30 * 86400)
          .default(86400),
      }),
    )
    .output(createdOutput.extend({ previous_key_expires_at: z.string().nullable() }))
    .mutation(async ({ ctx, input }) =>
      ctx.app.serviceAccounts.rotate(input.service_account_id, input.overlap_seconds, ctx.principal),
    ),
});
