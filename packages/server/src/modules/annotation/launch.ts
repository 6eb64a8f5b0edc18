/**
 * "Open in a new window". Label Studio has no log-in-by-token URL and no ?lang= parameter (spec README,
 * "Known differences"), so the link a caller gets is Labeler's own: a 1-hour, single-project token signed
 * with the server's link-signing key. Visiting it checks the visitor's right to the project (a signed-in
 * console session, else the principal the link was issued to, re-checked now) and redirects (302) to the
 * backend's project page, where the person uses their own backend session.
 */
import { isLabelerError, LabelerError, type Principal, projectIdSchema, toLabelerError } from '@labeler/core';
import express, { type Router } from 'express';
import { z } from 'zod';
import type { AppServices } from '../../app/services.js';
import { sendError } from '../../http/envelope.js';
import { hasScope } from '../../trpc/init.js';
import { AdminUser } from '../auth/entities.js';
import { ServiceAccount } from '../service-accounts/entities.js';
import { backendFor } from './backend.js';
import { signToken, verifyToken } from './signing.js';

export const LAUNCH_PATH = '/launch';
export const LAUNCH_TTL_SECONDS = 3600;
const PURPOSE = 'annotation-launch';

const launchPayload = z.object({
  v: z.literal(1),
  /** Project id. */
  p: projectIdSchema,
  /** Principal the link was issued to. */
  sub: z.string().min(1),
  k: z.enum(['service_account', 'admin_user', 'system']),
  /** Expiry, unix seconds. */
  exp: z.number().int(),
});

export interface LaunchResult {
  projectId: string;
  redirectTo: string;
}

export function mintLaunchLink(
  app: AppServices,
  projectId: string,
  principal: Principal,
  now = Date.now(),
): { url: string; expiresAt: string } {
  const exp = Math.floor(now / 1000) + LAUNCH_TTL_SECONDS;
  const token = signToken(app.keys.signing, PURPOSE, {
    v: 1,
    p: projectId,
    sub: principal.id,
    k: principal.kind,
    exp,
  });
  return {
    url: `${app.config.publicUrl}${LAUNCH_PATH}/${token}`,
    expiresAt: new Date(exp * 1000).toISOString(),
  };
}

const invalidLink = (reason: string, message: string) =>
  new LabelerError('PRESIGNED_URL_INVALID', message, { details: { reason } });

/**
 * The principal the link was issued to, as it is now, when it is still allowed (not revoked, disabled or
 * expired; admin scope); else null. Read afresh so that its organization is the current one.
 */
async function issuerNow(
  app: AppServices,
  kind: z.infer<typeof launchPayload>['k'],
  id: string,
): Promise<Principal | null> {
  const em = app.orm.em.fork();
  if (kind === 'admin_user') {
    const user = await em.findOne(AdminUser, { id });
    return user && !user.disabledAt ? app.adminUsers.principalFor(user) : null;
  }
  if (kind === 'service_account') {
    const account = await em.findOne(ServiceAccount, { id });
    if (!account || account.revokedAt || (account.expiresAt && account.expiresAt <= new Date())) return null;
    if (!account.scopes.includes('admin')) return null;
    return {
      kind: 'service_account',
      id: account.id,
      name: account.name,
      organizationId: account.organizationId ?? null,
      roles: [],
      scopes: account.scopes as Principal['scopes'],
      authenticatedBy: 'launch-link',
    };
  }
  return null;
}

export async function resolveLaunch(
  app: AppServices,
  token: string,
  session: Principal | null,
  now = Date.now(),
): Promise<LaunchResult> {
  const payload = verifyToken(app.keys.signing, PURPOSE, token, launchPayload);
  if (!payload)
    throw invalidLink(
      'bad_signature',
      'This launch link is not valid. Open the project again from Labeler to get a new link.',
    );
  if (payload.exp * 1000 <= now)
    throw invalidLink(
      'expired',
      'This launch link has expired (links last one hour). Open the project again from Labeler to get a new link.',
    );
  const viewer = session ?? (await issuerNow(app, payload.k, payload.sub));
  if (!viewer || !hasScope(viewer, 'admin'))
    throw new LabelerError('ACCESS_DENIED', 'You may not open this annotation project.', {
      details: { project_id: payload.p },
    });
  // Re-checked now: the dataset may have become private or moved to another organization since.
  const project = await app.annotation.getVisibleRecord(payload.p, viewer);
  if (!project.externalId)
    throw new LabelerError('CONFLICT', 'The backend project does not exist yet: ensure the project first.', {
      details: { project_id: project.id },
    });
  const backend = await backendFor(app, project.backendInstanceId);
  return { projectId: project.id, redirectTo: backend.projectUrl(project.externalId) };
}

export function launchRouter(app: AppServices): Router {
  const router = express.Router();
  router.get('/:token', async (req, res) => {
    try {
      // A console session, when present, decides; an invalid/expired cookie falls back to the link's issuer.
      const session = await app.auth.authenticate(req).catch(() => null);
      const result = await resolveLaunch(app, req.params.token, session);
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Referrer-Policy', 'no-referrer');
      res.redirect(302, result.redirectTo);
    } catch (error) {
      sendError(res, isLabelerError(error) ? error : toLabelerError(error), String(req.id));
    }
  });
  return router;
}
