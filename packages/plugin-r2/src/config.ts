import { assertValidStorageKey, secret } from '@labeler/core';
import { z } from 'zod';

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** R2/S3 instance configuration. Exactly one of `accountId` and `endpoint`. */
export const r2ConfigSchema = z
  .object({
    accountId: z
      .string()
      .regex(/^[0-9a-f]{32}$/i, 'must be the 32-character Cloudflare account id')
      .optional()
      .describe('Cloudflare account id; the endpoint becomes https://<accountId>.r2.cloudflarestorage.com.'),
    endpoint: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .optional()
      .describe('Any S3-compatible endpoint, instead of accountId.'),
    bucket: z
      .string()
      .regex(BUCKET_NAME, 'must be a bucket name: 3-63 lowercase letters, digits, "." or "-"')
      .describe('Bucket name.'),
    accessKeyId: z.string().min(1, 'is required').describe('Access key id of the R2 API token.'),
    secretAccessKey: secret(
      z.string().min(1, 'is required').describe('Secret access key of the R2 API token.'),
    ),
    region: z.string().min(1).default('auto').describe('Signing region; R2 uses "auto".'),
    forcePathStyle: z
      .boolean()
      .optional()
      .describe('Path-style URLs (endpoint/bucket/key). Default: true for IP or localhost endpoints.'),
    prefix: z
      .string()
      .optional()
      .refine(
        (value) => value === undefined || value === '' || isValidPrefix(value),
        'must be a relative key prefix without "..", "\\" or a leading "/"',
      )
      .describe('Prefix prepended to every key, e.g. "labeler/"; a trailing "/" is added.'),
    connectionTimeoutMs: z
      .number()
      .int()
      .min(100)
      .max(60_000)
      .default(3_000)
      .describe('TCP/TLS connect timeout; keeps an outage fast to detect.'),
    requestTimeoutMs: z
      .number()
      .int()
      .min(1_000)
      .max(600_000)
      .default(30_000)
      .describe('Time allowed until response headers arrive.'),
    socketTimeoutMs: z
      .number()
      .int()
      .min(1_000)
      .max(3_600_000)
      .default(120_000)
      .describe('Idle socket timeout, also while streaming a body.'),
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(3)
      .describe('Attempts per request (SDK standard retry with backoff).'),
    bucketPathWithoutTrailingSlash: z
      .boolean()
      .default(false)
      .describe(
        'Send bucket-level requests as "/bucket" instead of "/bucket/" (for S3 servers such as s3rver that canonicalize it so).',
      ),
  })
  .superRefine((config, ctx) => {
    if (config.accountId === undefined && config.endpoint === undefined) {
      ctx.addIssue({ code: 'custom', path: ['accountId'], message: 'is required unless endpoint is given' });
    }
    if (config.accountId !== undefined && config.endpoint !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['endpoint'],
        message: 'must not be given together with accountId',
      });
    }
  });

export type R2ConfigInput = z.input<typeof r2ConfigSchema>;
export type R2Config = z.output<typeof r2ConfigSchema>;

function isValidPrefix(prefix: string): boolean {
  try {
    assertValidStorageKey(prefix.replace(/\/+$/, ''));
    return true;
  } catch {
    return false;
  }
}

export interface ResolvedR2Config extends R2Config {
  endpoint: string;
  forcePathStyle: boolean;
  /** Normalized: "" or ends with "/". */
  prefix: string;
}

function isLocalHost(endpoint: string): boolean {
  const host = new URL(endpoint).hostname.replace(/^\[|\]$/g, '');
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^\d{1,3}(\.\d{1,3}){3}$/.test(host) ||
    host.includes(':')
  );
}

export function resolveR2Config(config: R2Config): ResolvedR2Config {
  const endpoint = config.endpoint ?? `https://${config.accountId}.r2.cloudflarestorage.com`;
  const prefix = config.prefix ? config.prefix.replace(/\/*$/, '/') : '';
  // Virtual-hosted style needs DNS for bucket.host, which IPs and localhost do not have.
  return { ...config, endpoint, prefix, forcePathStyle: config.forcePathStyle ?? isLocalHost(endpoint) };
}
