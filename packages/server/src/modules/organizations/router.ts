import { platformUserIdSchema } from '@labeler/core';
import { z } from 'zod';
import { adminProcedure, router } from '../../trpc/init.js';
import { platformAdminProcedure } from './procedures.js';
import { assertOwnOrganization } from './tenancy.js';

/** Creating organizations is the platform's; an organization's admin manages only its own members. */
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
  setMember: adminProcedure
    .input(
      z.object({
        organization_id: z.string().max(64),
        user_id: platformUserIdSchema,
        role: z.enum(['admin', 'member']).default('member'),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      assertOwnOrganization(ctx.principal, input.organization_id);
      await ctx.app.organizations.setMember(input.organization_id, input.user_id, input.role, ctx.principal);
      return { ok: true };
    }),
  removeMember: adminProcedure
    .input(z.object({ organization_id: z.string().max(64), user_id: platformUserIdSchema }))
    .mutation(async ({ ctx, input }) => {
      assertOwnOrganization(ctx.principal, input.organization_id);
      return {
        removed: await ctx.app.organizations.removeMember(
          input.organization_id,
          input.user_id,
          ctx.principal,
        ),
      };
    }),
});
