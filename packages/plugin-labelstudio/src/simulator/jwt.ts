/** Minimal HS256 JWTs for the simulator (Label Studio uses simplejwt; the claims are what matter here). */
import { createHmac, timingSafeEqual } from 'node:crypto';

const b64url = (value: Buffer | string): string => Buffer.from(value).toString('base64url');

export type JwtClaims = Record<string, unknown> & { exp?: number; token_type?: string };

export function signJwt(claims: JwtClaims, secret: string): string {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** Returns the claims when the signature is valid (expiry is checked by the caller). */
export function verifyJwt(token: string, secret: string): JwtClaims | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [head, body, sig] = parts as [string, string, string];
  const expected = Buffer.from(createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url'));
  const given = Buffer.from(sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  try {
    const claims: unknown = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null ? (claims as JwtClaims) : null;
  } catch {
    return null;
  }
}

/** Same test as LS `jwt_auth/token_format.py:is_jwt_formatted`: three parts, first two JSON. */
export function isJwtFormatted(token: string): boolean {
  const parts = token.split('.');
  if (parts.length !== 3) return false;
  try {
    JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
    JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    return true;
  } catch {
    return false;
  }
}
