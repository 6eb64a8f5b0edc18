/** Authentication exactly as LS reports it (reference §2.3): which header, which 401 text. */
import { HttpError } from './http.js';
import type { SimContext } from './context.js';
import { isJwtFormatted, verifyJwt } from './jwt.js';

export const NOT_PROVIDED = 'Authentication credentials were not provided.';
export const INVALID_TOKEN = 'Invalid token.';
export const LEGACY_DISABLED =
  'Authentication token no longer valid: legacy token authentication has been disabled for this organization';

export interface AuthResult {
  userId: number;
  via: 'token' | 'session';
}

function sessionFrom(cookie: string | undefined): string | null {
  const match = /(?:^|;\s*)sessionid=([^;]+)/.exec(cookie ?? '');
  return match ? match[1]! : null;
}

/** Returns who is calling, null without credentials; throws the 401 LS answers for bad ones. */
export function authenticate(
  ctx: SimContext,
  headers: Record<string, string | string[] | undefined>,
): AuthResult | null {
  let authorization = typeof headers.authorization === 'string' ? headers.authorization : undefined;
  const apiKey = typeof headers['x-api-key'] === 'string' ? headers['x-api-key'] : undefined;
  // XApiKeySupportMiddleware: X-Api-Key becomes Token/Bearer by its format.
  if (!authorization && apiKey)
    authorization = isJwtFormatted(apiKey) ? `Bearer ${apiKey}` : `Token ${apiKey}`;
  if (authorization) {
    const [scheme, value = ''] = authorization.split(/\s+/, 2) as [string, string?];
    if (scheme.toLowerCase() === 'token') {
      if (value !== ctx.legacyToken) throw new HttpError(401, INVALID_TOKEN);
      if (!ctx.state.settings.legacyApiTokensEnabled) throw new HttpError(401, LEGACY_DISABLED);
      return { userId: 1, via: 'token' };
    }
    if (scheme.toLowerCase() === 'bearer') {
      // JWTAuthenticationMiddleware only logs an invalid/expired/refresh JWT, so DRF sees no credentials.
      const claims = verifyJwt(value, ctx.jwtSecret);
      const valid =
        claims !== null &&
        claims.token_type === 'access' &&
        typeof claims.exp === 'number' &&
        claims.exp * 1000 > Date.now() &&
        claims.ep === ctx.state.accessEpoch &&
        ctx.state.settings.apiTokensEnabled;
      if (valid) return { userId: Number(claims.user_id), via: 'token' };
      throw new HttpError(401, NOT_PROVIDED);
    }
  }
  const session = sessionFrom(typeof headers.cookie === 'string' ? headers.cookie : undefined);
  if (session && ctx.state.sessions.has(session)) return { userId: 1, via: 'session' };
  return null;
}
