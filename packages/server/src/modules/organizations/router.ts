import { ORG_ROLES, platformUserIdSchema } from '@labeler/core';
import { z } from 'zod';
import { adminProcedure, router, scopedProcedure } from '../../trpc/init.js';
import { platformAdminProcedure } from './procedures.js';
import { assertOwnOrganization } from './tenancy.js';

const TAG = 'Organizations';
const byOrganization = z.object({ organization_id: z.string().min(1).max(64) });
const byMember = byOrganization.extend({ user_id: platformUserIdSchema });
const membershipView = z.object({
  organization_id: z.string(),
  user_id: z.number().int(),
  role: z.enum(ORG_ROLES),
  created_at: z.string(),
});
const OWN_ORGANIZATION =
  "An organization's key acts in its own organization only (another → 403 ACCESS_DENIED); an unknown organization is 404 NOT_FOUND.";

/**
 * Creating organizations is the platform's; an organization's principal manages only its own members.
 * The member procedures are also the Platform's REST routes (scope memberships:write; listing needs
 * datasets:permissions, the scope of the permission answers that memberships feed).
 */
export const organizationsRouter = router({
  list: adminProcedure.query(({ ctx }) => ctx.app.organizations.list(ctx.principal.organizationId)),
  create: platformAdminProcedure
    .input(
      z.object({
        name: z.string().trim().min(1).max(200),
        slug: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and "-"'),
      }),
    )
    .mutation(({ ctx, input }) => ctx.app.organizations.create(input.name, input.slug, ctx.principal)),
  members: scopedProcedure('datasets:permissions')
    .meta({
      openapi: {
        method: 'GET',
        path: '/organizations/{organization_id}/members',
        tags: [TAG],
        summary: "An organization's members and their roles, by user id",
        description: `Scope datasets:permissions. ${OWN_ORGANIZATION}`,
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(byOrganization)
    .output(z.object({ members: z.array(membershipView) }))
    .query(async ({ ctx, input }) => {
      assertOwnOrganization(ctx.principal, input.organization_id);
      return { members: await ctx.app.organizations.listMembers(input.organization_id) };
    }),
  setMember: scopedProcedure('memberships:write')
    .meta({
      openapi: {
        method: 'PUT',
        path: '/organizations/{organization_id}/members/{user_id}',
        tags: [TAG],
        summary: "Add a Platform user to an organization or change the member's role",
        description: `Idempotent: repeating it changes nothing and answers the same; audited when something changes. ${OWN_ORGANIZATION}`,
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(byMember.extend({ role: z.enum(ORG_ROLES).default('member') }))
    .output(membershipView)
    .mutation(({ ctx, input }) => {
      assertOwnOrganization(ctx.principal, input.organization_id);
      return ctx.app.organizations.setMember(
        input.organization_id,
        input.user_id,
        input.role,
        ctx.principal,
        {
          requestId: ctx.requestId,
        },
      );
    }),
  removeMember: scopedProcedure('memberships:write')
    .meta({
      openapi: {
        method: 'DELETE',
        path: '/organizations/{organization_id}/members/{user_id}',
        tags: [TAG],
        summary: 'Remove a Platform user from an organization',
        description: `Idempotent: 200 with removed false when the user was no member; audited when a member was removed. ${OWN_ORGANIZATION}`,
        errorResponses: [400, 401, 403, 404],
      },
    })
    .input(byMember)
    .output(z.object({ organization_id: z.string(), user_id: z.number().int(), removed: z.boolean() }))
    .mutation(async ({ ctx, input }) => {
      assertOwnOrganization(ctx.principal, input.organization_id);
      return {
        organization_id: input.organization_id,
        user_id: input.user_id,
        removed: await ctx.app.organizations.removeMember(
          input.organization_id,
          input.user_id,
          ctx.principal,
          {
            requestId: ctx.requestId,
          },
        ),
      };
    }),
});
