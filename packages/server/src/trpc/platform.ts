import type { Principal, Scope } from '@labeler/core';
import type { OpenApiMeta } from 'trpc-to-openapi';
import type { z } from 'zod';
import { chargePlatformRequest, type PlatformCharge } from '../modules/rate-limits/platform-charge.js';
import type { RequestContext } from './context.js';
import { idempotencyMiddleware, scopeCheckedProcedure } from './init.js';

/** What a Platform route's resolver sees: an authenticated caller whose request is charged. */
export type PlatformContext = RequestContext & {
  principal: Principal;
  /**
   * The request's rate-limit charge while it is still to be made (REST fast lane): the resolver hands it
   * to its first read, which folds it into the same statement. Null once charged (tRPC charges first).
   */
  charge: PlatformCharge | null;
};

const platformIdempotency = idempotencyMiddleware({ rerun: true });

/**
 * Platform routes: scope check, then the rate-limit charge (see chargePlatformRequest), then the
 * Idempotency-Key step, so a replay is charged like any request. These routes only read (download-url
 * issues a URL), so a retry runs them again rather than replaying a stored answer (no URL is stored).
 */
export function platformProcedure(scope: Scope) {
  return scopeCheckedProcedure(scope)
    .use(async ({ ctx, next, getRawInput }) => {
      const raw = await getRawInput().catch(() => null);
      await chargePlatformRequest(ctx.app, ctx.principal, raw, ctx.response.headers);
      return next({ ctx: { ...ctx, charge: null } });
    })
    .use(platformIdempotency);
}

type OpenApiOperation = NonNullable<OpenApiMeta['openapi']> & { method: 'GET' | 'POST' };

/**
 * One Platform operation, defined once and served twice: as a typed tRPC procedure (TypeScript clients,
 * the OpenAPI document) and by the REST fast lane (http/platform-lane.ts), which runs the same scope
 * check, rate-limit charge, input schema and resolver without the generic adapters in between.
 *
 * The resolver is either `run` (the answer as an object) or `respond` (the answer already written as JSON
 * text: list and batch write their rows straight into JSON). Either serves both doors: the lane writes
 * `run`'s object out, tRPC parses `respond`'s text, so each answer is built in one place.
 */
export type PlatformRoute<I extends z.ZodType, O extends z.ZodType> = {
  scope: Scope;
  openapi: OpenApiOperation;
  input: I;
  output: O;
} & (
  | { run(ctx: PlatformContext, input: z.output<I>): Promise<z.input<O>>; respond?: never }
  | { respond(ctx: PlatformContext, input: z.output<I>): Promise<string>; run?: never }
);

/** The shape the REST fast lane needs, with the route's input type erased. */
export interface LaneRoute {
  scope: Scope;
  openapi: OpenApiOperation;
  input: z.ZodType;
  /** The response body as JSON text. */
  respond(ctx: PlatformContext, input: unknown): Promise<string>;
}

export function platformRoute<I extends z.ZodType, O extends z.ZodType>(
  route: PlatformRoute<I, O>,
): PlatformRoute<I, O> & { lane: LaneRoute } {
  const { run, respond } = route;
  return {
    ...route,
    lane: {
      scope: route.scope,
      openapi: route.openapi,
      input: route.input,
      respond: respond
        ? (ctx, input) => respond(ctx, input as z.output<I>)
        : async (ctx, input) => JSON.stringify(await run!(ctx, input as z.output<I>)),
    },
  };
}

/** The route's answer as an object (tRPC validates it against the output schema). */
function resolve<I extends z.ZodType, O extends z.ZodType>(
  route: PlatformRoute<I, O>,
  ctx: PlatformContext,
  input: z.output<I>,
): Promise<unknown> {
  if (route.run) return route.run(ctx, input);
  return route.respond!(ctx, input).then((text) => JSON.parse(text) as unknown);
}

function describedProcedure<I extends z.ZodType, O extends z.ZodType>(route: PlatformRoute<I, O>) {
  return platformProcedure(route.scope)
    .meta({ openapi: route.openapi })
    .input(route.input)
    .output(route.output);
}

// The procedure's output type comes from `.output(route.output)`; tRPC's deferred conditional type for a
// generic resolver's return value cannot be resolved here, hence the `never` casts.
export function platformQuery<I extends z.ZodType, O extends z.ZodType>(route: PlatformRoute<I, O>) {
  return describedProcedure(route).query(
    ({ ctx, input }) => resolve(route, ctx, input as z.output<I>) as Promise<never>,
  );
}

export function platformMutation<I extends z.ZodType, O extends z.ZodType>(route: PlatformRoute<I, O>) {
  return describedProcedure(route).mutation(
    ({ ctx, input }) => resolve(route, ctx, input as z.output<I>) as Promise<never>,
  );
}
