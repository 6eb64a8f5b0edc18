import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../../lib/crypto.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const KEY_PREFIX = 'lbl_sa_';
const BODY_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
const KEY_PATTERN = new RegExp(`^${KEY_PREFIX}[0-9A-Za-z]{${BODY_LENGTH + CHECKSUM_LENGTH}}$`);

function base62(bytes: Buffer, length: number): string {
  let out = '';
  for (const byte of bytes) {
    if (out.length === length) break;
    // Rejection sampling keeps the distribution uniform.
    if (byte < 248) out += ALPHABET[byte % 62];
  }
  return out;
}

function checksum(body: string): string {
  const digest = Buffer.from(sha256Hex(`${KEY_PREFIX}${body}`), 'hex');
  let out = '';
  for (let i = 0; out.length < CHECKSUM_LENGTH; i++) out += ALPHABET[digest[i]! % 62];
  return out;
}

/**
 * Keys look like `lbl_sa_<32 base62><6 checksum>`: a recognisable prefix for secret scanners, and an
 * offline checksum so malformed keys are refused without a database lookup.
 */
export function generateServiceAccountKey(): { key: string; prefix: string; hash: string } {
  let body = '';
  while (body.length < BODY_LENGTH) body += base62(randomBytes(48), BODY_LENGTH - body.length);
  const key = `${KEY_PREFIX}${body}${checksum(body)}`;
  return { key, prefix: displayPrefix(key), hash: hashKey(key) };
}

export function hashKey(key: string): string {
  return sha256Hex(key);
}

export function displayPrefix(key: string): string {
  return key.slice(0, KEY_PREFIX.length + 6);
}

export function isWellFormedServiceAccountKey(key: string): boolean {
  if (!KEY_PATTERN.test(key)) return false;
  const body = key.slice(KEY_PREFIX.length, KEY_PREFIX.length + BODY_LENGTH);
  return key.endsWith(checksum(body));
}
