/**
 * Token kinds (reference §2.1): a legacy token is sent as `Token <key>`; a JWT is a Personal Access Token
 * (`token_type: refresh`, exchanged for short-lived access tokens) or, rarely, an access token used as is.
 * Detection mirrors the SDK's `_is_valid_jwt_token` and LS's `is_jwt_formatted`.
 */
import { z } from 'zod';

export type TokenKind = 'legacy' | 'personal_access_token' | 'access_token';

const claimsSchema = z.looseObject({
  token_type: z.string().optional(),
  exp: z.number().optional(),
  user_id: z.unknown().optional(),
});
export type JwtClaims = z.infer<typeof claimsSchema>;

/** Claims of a JWT-formatted string, or null when it is not a JWT (=> legacy token). */
export function decodeJwt(token: string): JwtClaims | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
    const parsed = claimsSchema.safeParse(JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export interface DetectedToken {
  kind: TokenKind;
  claims: JwtClaims | null;
  /** Set when a JWT cannot work at all (no `exp`, or expired): a message a person can act on. */
  problem: string | null;
}

export function detectToken(token: string, nowMs: number = Date.now()): DetectedToken {
  const claims = decodeJwt(token.trim());
  if (!claims) return { kind: 'legacy', claims: null, problem: null };
  const kind: TokenKind = claims.token_type === 'access' ? 'access_token' : 'personal_access_token';
  if (claims.exp === undefined) {
    return {
      kind,
      claims,
      problem:
        'API key does not have an expiration set: create a new Personal Access Token in Label Studio (Account & Settings → Personal Access Token).',
    };
  }
  if (claims.exp * 1000 <= nowMs) {
    return {
      kind,
      claims,
      problem:
        'API key has expired: obtain a new Personal Access Token in Label Studio (Account & Settings) and update the plugin configuration.',
    };
  }
  return { kind, claims, problem: null };
}
