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
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(req.headers))
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    const request: AuthRequest = {
      method: req.method,
      path: req.path,
      headers,
      cookies: headers.cookie ? parseCookies(headers.cookie) : {},
      ...(req.ip ? { ip: req.ip } : {}),
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
