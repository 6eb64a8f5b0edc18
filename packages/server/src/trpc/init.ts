import { isLabelerError, LabelerError, type Principal, type Scope } from '@labeler/core';
import { initTRPC } from '@trpc/server';
// tRPC has no public way for a middleware to answer without the resolver; this marker is what its own
// middleware chain returns (a replayed Idempotency-Key answer needs it).
import { middlewareMarker } from '@trpc/server/unstable-core-do-not-import';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { ZodError } from 'zod';
import { type IdempotencyOptions, runIdempotent } from '../modules/idempotency/procedure.js';
import type { RequestContext } from './context.js';
import { fromZodError, labelerErrorOf, toTRPCError } from './errors.js';

const t = initTRPC
  .context<RequestContext>()
  .meta<OpenApiMeta>()
  .create({
    // Never send stack traces, whatever NODE_ENV says.
    isDev: false,
    errorFormatter({ shape, error }) {
      const labeler = labelerErrorOf(error);
      return {
        ...shape,
        message: labeler.message,
        data: {
          code: shape.data.code,
          httpStatus: labeler.status,
          path: shape.data.path,
          labeler: { code: labeler.code, details: labeler.details, retryable: labeler.retryable },
        },
      };
    },
  });

export const router = t.router;
export const middleware = t.middleware;
export const createCallerFactory = t.createCallerFactory;

/** Turns domain errors and zod failures into tRPC errors that carry the LabelerError as cause. */
const errorBoundary = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    if (isLabelerError(cause) && result.error.code === 'INTERNAL_SERVER_ERROR' && cause.status !== 500) {
      throw toTRPCError(cause);
    }
    if (cause instanceof ZodError && result.error.code === 'BAD_REQUEST')
      throw toTRPCError(fromZodError(cause));
  }
  return result;
});

export const publicProcedure = t.procedure.use(errorBoundary);

const authenticatedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const principal = await ctx.getPrincipal();
  if (!principal) throw authenticationRequired();
  return next({ ctx: { ...ctx, principal } });
});

/**
 * Idempotency-Key on REST mutations (modules/idempotency): used after authentication, the scope check and
 * (Platform routes) the rate-limit charge, so a replay is authorized and counted like a first request.
 */
export function idempotencyMiddleware(options: IdempotencyOptions) {
  return t.middleware(async ({ ctx, type, getRawInput, next }) => {
    const principal = (ctx as RequestContext & { principal?: Principal }).principal;
    if (type !== 'mutation' || !principal) return next();
    const replayed = (data: unknown) => ({ ok: true as const, data, marker: middlewareMarker });
    return runIdempotent({ ...ctx, principal }, getRawInput, next, replayed, options);
  });
}

const idempotency = idempotencyMiddleware({ rerun: false });

/** Requires any authenticated principal. */
export const authedProcedure = authenticatedProcedure.use(idempotency);

export function authenticationRequired(): LabelerError {
  return new LabelerError(
    'UNAUTHENTICATED',
    'Authentication required: send "Authorization: Bearer <service account key>" or sign in to the console.',
  );
}

export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.includes(scope) || principal.scopes.includes('admin');
}

/** Throws INSUFFICIENT_SCOPE unless the principal holds `scope` (the admin scope implies every scope). */
export function requireScope(principal: Principal, scope: Scope): void {
  if (hasScope(principal, scope)) return;
  throw new LabelerError(
    'INSUFFICIENT_SCOPE',
    `This key lacks the "${scope}" scope required by this route.`,
    {
      details: { required_scope: scope, granted_scopes: principal.scopes },
    },
  );
}

/** Requires a principal holding `scope`, without the Idempotency-Key step (platformProcedure adds it after the charge). */
export function scopeCheckedProcedure(scope: Scope) {
  return authenticatedProcedure.use(async ({ ctx, next }) => {
    requireScope(ctx.principal, scope);
    return next({ ctx });
  });
}

/** Requires a principal holding `scope`. */
export function scopedProcedure(scope: Scope) {
  return scopeCheckedProcedure(scope).use(idempotency);
}

/** Console admins (session) and service accounts with the admin scope. */
export const adminProcedure = scopedProcedure('admin');
