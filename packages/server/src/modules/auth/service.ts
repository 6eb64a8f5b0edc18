import { type AuthInstance, type AuthRequest, isLabelerError, type Principal } from '@labeler/core';
import { parse as parseCookies } from 'cookie';
import type { Request } from 'express';
import { UnauthenticatedBudget } from './unauthenticated-budget.js';

/**
 * Asks each auth plugin instance, in order, to turn a request into a principal. A bearer header always
 * wins over a session cookie so that API clients never trip over a browser's cookies. Requests without a
 * valid credential draw on a per-IP budget (unauthenticated-budget.ts) before a plugin looks anything up.
 */
export class AuthService {
  readonly #budget: UnauthenticatedBudget | null;

  constructor(
    private readonly instances: ReadonlyArray<{ id: string; instance: AuthInstance }>,
    options: { unauthenticatedPerIp?: number } = {},
  ) {
    this.#budget = options.unauthenticatedPerIp
      ? new UnauthenticatedBudget(options.unauthenticatedPerIp)
      : null;
  }

  async authenticate(req: Request): Promise<Principal | null> {
    return this.authenticateRequest(req.method, req.path, req.headers, req.ip);
  }

  /** For callers without an express request (the REST fast lane); Node's header names are lower-cased. */
  async authenticateRequest(
    method: string,
    path: string,
    rawHeaders: Readonly<Record<string, string | string[] | undefined>>,
    ip: string | undefined,
  ): Promise<Principal | null> {
    const headers: Record<string, string | undefined> = {};
    for (const name in rawHeaders) {
      const value = rawHeaders[name];
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const request: AuthRequest = {
      method,
      path,
      headers,
      cookies: headers.cookie ? parseCookies(headers.cookie) : {},
      ...(ip ? { ip } : {}),
    };
    const budget = this.#budget;
    if (!budget || !ip) return this.#run(request);
    const credential = headers.authorization ?? headers.cookie;
    budget.admit(ip, credential);
    let principal: Principal | null;
    try {
      principal = await this.#run(request);
    } catch (error) {
      if (isLabelerError(error) && error.code === 'UNAUTHENTICATED') budget.failed(ip);
      throw error;
    }
    if (!principal) budget.failed(ip);
    else if (credential !== undefined) budget.succeeded(credential);
    return principal;
  }

  async #run(request: AuthRequest): Promise<Principal | null> {
    for (const { instance } of this.instances) {
      const principal = await instance.authenticate(request);
      if (principal) return principal;
    }
    return null;
  }

  get ids(): string[] {
    return this.instances.map((i) => i.id);
  }
}
