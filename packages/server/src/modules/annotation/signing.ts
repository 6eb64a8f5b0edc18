/**
 * Compact HMAC-signed tokens ("<base64url JSON>.<hex HMAC>") for Labeler's own links. The purpose is part
 * of the signed text, so a token minted for one purpose (launch) never verifies for another (media).
 */
import type { z } from 'zod';
import { hmacHex, safeEqual } from '../../lib/crypto.js';

export function signToken(key: string, purpose: string, payload: Record<string, unknown>): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${hmacHex(key, `${purpose}.${body}`)}`;
}

/** The payload when the signature matches and the payload fits the schema; otherwise null. */
export function verifyToken<S extends z.ZodType>(
  key: string,
  purpose: string,
  token: string,
  schema: S,
): z.output<S> | null {
  const dot = token.indexOf('.');
  if (dot <= 0 || token.length > 4096) return null;
  const body = token.slice(0, dot);
  const signature = token.slice(dot + 1);
  if (!safeEqual(signature, hmacHex(key, `${purpose}.${body}`))) return null;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : null;
}

/** A value derived from the server key for one purpose and subject (e.g. a project's webhook secret). */
export function derivedSecret(key: string, purpose: string, subject: string): string {
  return hmacHex(key, `${purpose}:${subject}`);
}
