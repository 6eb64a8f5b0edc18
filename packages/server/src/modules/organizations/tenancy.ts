import { LabelerError, type Principal } from '@labeler/core';

/**
 * An organization's principal acts only in its own organization: it may not create a dataset or a service
 * account in another organization, nor a platform-wide one (`null`). `undefined` means "not given" (the
 * caller's own organization is used). Platform-wide principals may name any organization.
 */
export function assertOwnOrganization(principal: Principal, organizationId: string | null | undefined): void {
  if (organizationId === undefined || !principal.organizationId) return;
  if (organizationId === principal.organizationId) return;
  throw new LabelerError(
    'ACCESS_DENIED',
    organizationId === null
      ? 'An organization’s principal cannot put anything outside its organization (organization_id null).'
      : `This key acts in organization ${principal.organizationId} and cannot act in ${organizationId}.`,
    { details: { organization_id: organizationId, reason: 'other_organization' } },
  );
}
