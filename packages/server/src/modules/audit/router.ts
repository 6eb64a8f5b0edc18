import { z } from 'zod';
import { adminProcedure, router } from '../../trpc/init.js';

export const auditRouter = router({
  /** An organization's admin reads its organization's events only (see AuditEvent.organizationId). */
  list: adminProcedure
    .input(
      z.object({
        action: z.string().max(100).optional(),
        actor_id: z.string().max(64).optional(),
        target_id: z.string().max(64).optional(),
        since: z.iso.datetime({ offset: true }).optional(),
        until: z.iso.datetime({ offset: true }).optional(),
        limit: z.number().int().min(1).max(200).default(50),
        cursor: z.string().max(64).optional(),
      }),
    )
    .query(({ ctx, input }) =>
      ctx.app.audit.list({
        ...(ctx.principal.organizationId ? { organizationId: ctx.principal.organizationId } : {}),
        ...(input.action ? { action: input.action } : {}),
        ...(input.actor_id ? { actorId: input.actor_id } : {}),
        ...(input.target_id ? { targetId: input.target_id } : {}),
        ...(input.since ? { since: new Date(input.since) } : {}),
        ...(input.until ? { until: new Date(input.until) } : {}),
        limit: input.limit,
        ...(input.cursor ? { cursor: input.cursor } : {}),
      }),
    ),
});
