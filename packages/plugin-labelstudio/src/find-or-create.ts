/**
 * Creation without duplicates over an unreliable link: look first; create; if the create's outcome is
 * unknown (dropped connection, 5xx, timeout) or LS says it already exists (422), look again before
 * creating again. The HTTP client never resends a creating POST by itself.
 */
import { isLabelerError } from '@labeler/core';

export function outcomeUnknown(error: unknown): boolean {
  return (
    isLabelerError(error) &&
    (error.retryable || (error.code === 'BACKEND_REJECTED' && error.details.status === 422))
  );
}

export async function findOrCreate<T>(options: {
  find: () => Promise<T | null>;
  create: () => Promise<T>;
  pause: (attempt: number) => Promise<void>;
  attempts?: number;
}): Promise<{ value: T; created: boolean }> {
  const existing = await options.find();
  if (existing !== null) return { value: existing, created: false };
  const attempts = options.attempts ?? 4;
  for (let attempt = 0; ; attempt++) {
    try {
      return { value: await options.create(), created: true };
    } catch (error) {
      if (!outcomeUnknown(error) || attempt + 1 >= attempts) throw error;
      await options.pause(attempt);
      const found = await options.find();
      if (found !== null) return { value: found, created: false };
    }
  }
}
