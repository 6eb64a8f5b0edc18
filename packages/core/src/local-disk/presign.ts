import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Presigned local-disk URLs, served by the Labeler server:
 *   {publicBaseUrl}/storage/local/{instanceId}/{key, each segment percent-encoded}
 *     ?X-Labeler-Method=GET|PUT
 *     &X-Labeler-Expires={unix seconds}
 *     [&X-Labeler-Content-Type=...] [&X-Labeler-Filename=...]
 *     &X-Labeler-Signature={hex HMAC-SHA256}
 * The HMAC key is the host's signing key; the signed string covers the instance, method, key, expiry
 * and the optional parameters, so none of them can be changed without invalidating the URL.
 */
export const LOCAL_STORAGE_ROUTE_PREFIX = '/storage/local/';

export const PRESIGN_QUERY = {
  method: 'X-Labeler-Method',
  expires: 'X-Labeler-Expires',
  contentType: 'X-Labeler-Content-Type',
  filename: 'X-Labeler-Filename',
  signature: 'X-Labeler-Signature',
} as const;

export type PresignMethod = 'GET' | 'PUT';

export interface SignedFields {
  instanceId: string;
  method: PresignMethod;
  key: string;
  expires: number;
  contentType?: string | undefined;
  filename?: string | undefined;
}

function stringToSign(fields: SignedFields): string {
  // Control characters are refused in keys, so "\n" cannot be smuggled into a field.
  return [
    'LABELER-HMAC-SHA256-V1',
    fields.instanceId,
    fields.method,
    fields.key,
    String(fields.expires),
    fields.contentType ?? '',
    fields.filename ?? '',
  ].join('\n');
}

export function sign(signingKey: string, fields: SignedFields): string {
  return createHmac('sha256', signingKey).update(stringToSign(fields)).digest('hex');
}

/** Constant-time comparison of a provided hex signature with the expected one. */
export function signatureMatches(signingKey: string, fields: SignedFields, provided: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(provided)) return false;
  const expected = Buffer.from(sign(signingKey, fields), 'hex');
  return timingSafeEqual(expected, Buffer.from(provided, 'hex'));
}

export function encodeKeyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

export function buildPresignedUrl(publicBaseUrl: string, signingKey: string, fields: SignedFields): string {
  const base = publicBaseUrl.replace(/\/+$/, '');
  const url = new URL(
    `${base}${LOCAL_STORAGE_ROUTE_PREFIX}${encodeURIComponent(fields.instanceId)}/${encodeKeyPath(fields.key)}`,
  );
  url.searchParams.set(PRESIGN_QUERY.method, fields.method);
  url.searchParams.set(PRESIGN_QUERY.expires, String(fields.expires));
  if (fields.contentType !== undefined) url.searchParams.set(PRESIGN_QUERY.contentType, fields.contentType);
  if (fields.filename !== undefined) url.searchParams.set(PRESIGN_QUERY.filename, fields.filename);
  url.searchParams.set(PRESIGN_QUERY.signature, sign(signingKey, fields));
  return url.toString();
}

/**
 * Splits a request path under /storage/local/ into the instance id and the storage key (each segment
 * percent-decoded). Null when the path is not a local-storage path or is malformed. For the HTTP layer.
 */
export function parseLocalStoragePath(pathname: string): { instanceId: string; key: string } | null {
  const queryAt = pathname.indexOf('?');
  const clean = queryAt === -1 ? pathname : pathname.slice(0, queryAt);
  if (!clean.startsWith(LOCAL_STORAGE_ROUTE_PREFIX)) return null;
  const [rawInstance, ...rawKey] = clean.slice(LOCAL_STORAGE_ROUTE_PREFIX.length).split('/');
  if (!rawInstance || rawKey.length === 0) return null;
  try {
    return { instanceId: decodeURIComponent(rawInstance), key: rawKey.map(decodeURIComponent).join('/') };
  } catch {
    return null; // malformed percent-encoding
  }
}

/** RFC 6266 Content-Disposition with an ASCII fallback and the UTF-8 name. */
export function contentDisposition(filename: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters from a header value
  const ascii = filename.replace(/[^\x20-\x7e]|["\\\u0000-\u001f]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}
