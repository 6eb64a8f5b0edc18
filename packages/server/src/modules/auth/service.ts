import type { AuthInstance, AuthRequest, Principal } from '@labeler/core';
import { parse as parseCookies } from 'cookie';
import type { Request } from 'express';

/**
 * Asks each auth plugin instance, in order, to turn a request into a principal. A bearer header always
 * wins over a session cookie so that API clients never trip over a browser's cookies.
 */
export class AuthService {
  constructor(private readonly instances: ReadonlyArray<{ id: string; instance: AuthInstance }>) {}

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
