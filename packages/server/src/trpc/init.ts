import { isLabelerError, LabelerError, type Principal, type Scope } from '@labeler/core';
import { initTRPC } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { ZodError } from 'zod';
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

/** Requires any authenticated principal. */
export const authedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const principal = await ctx.getPrincipal();
  if (!principal) throw authenticationRequired();
  return next({ ctx: { ...ctx, principal } });
});

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

/** Requires a principal holding `scope`. */
export function scopedProcedure(scope: Scope) {
  return authedProcedure.use(async ({ ctx, next }) => {
    requireScope(ctx.principal, scope);
    return next({ ctx });
  });
}

/** Console admins (session) and service accounts with the admin scope. */
export const adminProcedure = scopedProcedure('admin');
