import { LabelerError } from '@labeler/core';
import { adminProcedure } from '../../trpc/init.js';

/**
 * Admin procedures that act on the whole platform (organizations, plugin instances): platform-wide admins
 * only. An organization's admin (an admin key or console user with an organization) gets 403 ACCESS_DENIED.
 */
export const platformAdminProcedure = adminProcedure.use(({ ctx, next }) => {
  if (ctx.principal.organizationId)
    throw new LabelerError(
      'ACCESS_DENIED',
      "Only a platform-wide admin may do this; an organization's admin may not.",
      {
        details: { reason: 'organization_scoped', organization_id: ctx.principal.organizationId },
      },
    );
  return next({ ctx });
});
