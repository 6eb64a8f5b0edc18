import { createHash } from 'node:crypto';
import { LabelerError } from '@labeler/core';
import { LRUCache } from 'lru-cache';

const WINDOW_MS = 60_000;

/**
 * Requests per client IP that present no valid credential (none, malformed, unknown, revoked, expired),
 * counted in memory per process in fixed one-minute windows. Once an IP has spent its budget, its next
 * requests are refused before any auth plugin runs, so a flood of unknown keys costs no database lookup.
 * Credentials that authenticated recently are remembered (as SHA-256 digests) and always let through to the
 * plugins, which still decide: a Platform behind the same address as a sprayer keeps working, and a key
 * revoked since is still refused by its plugin.
 */
export class UnauthenticatedBudget {
  readonly #windows = new LRUCache<string, { count: number; resetAt: number }>({ max: 100_000 });
  readonly #proven = new LRUCache<string, true>({ max: 10_000, ttl: 10 * 60_000 });

  constructor(private readonly limit: number) {}

  /** Throws RATE_LIMIT_EXCEEDED when `ip` has spent its budget and `credential` has not authenticated lately. */
  admit(ip: string, credential: string | undefined): void {
    const window = this.#windows.get(ip);
    if (!window || window.count < this.limit) return;
    const now = Date.now();
    if (window.resetAt <= now) return;
    if (credential !== undefined && this.#proven.has(digest(credential))) return;
    const seconds = Math.max(1, Math.ceil((window.resetAt - now) / 1000));
    throw new LabelerError(
      'RATE_LIMIT_EXCEEDED',
      `Too many requests without a valid credential from this address. Wait ${seconds} s, then send a valid key.`,
      {
        retryAfterSeconds: seconds,
        details: { reason: 'unauthenticated_budget', retry_after_seconds: seconds },
      },
    );
  }

  /** A request from `ip` presented no valid credential. */
  failed(ip: string): void {
    const now = Date.now();
    const window = this.#windows.get(ip);
    if (!window || window.resetAt <= now) this.#windows.set(ip, { count: 1, resetAt: now + WINDOW_MS });
    else window.count += 1;
  }

  /** `credential` authenticated. */
  succeeded(credential: string): void {
    const key = digest(credential);
    if (!this.#proven.has(key)) this.#proven.set(key, true);
  }
}

function digest(credential: string): string {
  return createHash('sha256').update(credential).digest('base64url');
}
