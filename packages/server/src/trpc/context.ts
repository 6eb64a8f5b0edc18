import type { Principal } from '@labeler/core';
import type { Request, Response } from 'express';
// req.id / req.log are declared by pino-http's type augmentation of the request.
import type {} from 'pino-http';
import type { AppServices } from '../app/services.js';
import type { Logger } from '../lib/logger.js';

/** Per-request context shared by the tRPC (/trpc) and REST (/api/v1) adapters. */
export interface RequestContext {
  app: AppServices;
  req: Request | null;
  res: Response | null;
  requestId: string;
  logger: Logger;
  ip: string | null;
  /** Resolved once per request by the auth plugins; null when the request carries no credential. */
  getPrincipal(): Promise<Principal | null>;
  /**
   * What a procedure adds to its HTTP response: headers (rate limits, Location, Retry-After) on success or
   * error, and a success status other than 200 (201, 202). One shared object, because tRPC middlewares
   * pass a spread copy of ctx downstream.
   */
  response: { status?: number; headers: Record<string, string> };
}

export function createRequestContext(
  app: AppServices,
  req: Request | null,
  res: Response | null,
): RequestContext {
  const requestId = (req?.id as string | undefined) ?? 'internal';
  let principal: Promise<Principal | null> | undefined;
  return {
    app,
    req,
    res,
    requestId,
    logger: (req?.log as Logger | undefined) ?? app.logger,
    ip: req?.ip ?? null,
    response: { headers: {} },
    getPrincipal() {
      principal ??= req ? app.auth.authenticate(req) : Promise.resolve(null);
      return principal;
    },
  };
}

/** Context for in-process callers (CLI, tests): acts as the given principal. */
export function createInternalContext(app: AppServices, principal: Principal): RequestContext {
  return {
    app,
    req: null,
    res: null,
    requestId: 'internal',
    logger: app.logger,
    ip: null,
    response: { headers: {} },
    getPrincipal: async () => principal,
  };
}
