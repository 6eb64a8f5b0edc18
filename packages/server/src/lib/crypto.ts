import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Keys derived from the one server secret (LABELER_SECRET_KEY). Separate derived keys per purpose so a leak
 * of one signature scheme never helps against another.
 */
export interface ServerKeys {
  encryption: Buffer;
  signing: string;
  session: Buffer;
  /** Encrypts the answers stored for Idempotency-Key replays (modules/idempotency). */
  idempotency: Buffer;
}

export function deriveKeys(secret: string): ServerKeys {
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', secret, 'labeler', info, 32));
  return {
    encryption: derive('plugin-secrets-v1'),
    signing: derive('link-signing-v1').toString('hex'),
    session: derive('sessions-v1'),
    idempotency: derive('idempotency-responses-v1'),
  };
}

/** Reads LABELER_SECRET_KEY, or a key generated once into the data directory (embedded/dev default). */
export function resolveServerSecret(
  explicit: string | undefined,
  dataDir: string,
): { secret: string; generated: boolean } {
  if (explicit) return { secret: explicit, generated: false };
  const file = join(dataDir, 'secret.key');
  if (existsSync(file)) return { secret: readFileSync(file, 'utf8').trim(), generated: false };
  mkdirSync(dirname(file), { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return { secret, generated: true };
}

/** AES-256-GCM envelope "v1.<iv>.<tag>.<ciphertext>" (base64url). */
export function encryptJson(key: Buffer, value: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return [
    'v1',
    iv.toString('base64url'),
    cipher.getAuthTag().toString('base64url'),
    ciphertext.toString('base64url'),
  ].join('.');
}

export function decryptJson<T>(key: Buffer, envelope: string): T {
  const [version, iv, tag, ciphertext] = envelope.split('.');
  if (version !== 'v1' || !iv || !tag || ciphertext === undefined)
    throw new Error('unrecognised secret envelope');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  const plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
  return JSON.parse(plain.toString('utf8')) as T;
}

export function sha256Hex(value: string | Buffer): string {
  return createHash('sha256').update(value).digest('hex');
}

export function hmacHex(key: string | Buffer, value: string): string {
  return createHmac('sha256', key).update(value).digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
