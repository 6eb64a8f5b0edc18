/**
 * In-process keyed mutex. `ensureProject` runs under it so concurrent ensures of one title in one process
 * create a single project. Across processes the server adds a PostgreSQL advisory lock on the same key.
 */
const tails = new Map<string, Promise<void>>();

export async function withProjectLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  let release!: () => void;
  const current = new Promise<void>((resolve) => {
    release = resolve;
  });
  const tail = previous.then(() => current);
  tails.set(key, tail);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    if (tails.get(key) === tail) tails.delete(key);
  }
}

/** The lock key ensureProject uses (exported so the server can take its advisory lock on the same key). */
export function projectLockKey(baseUrl: string, title: string): string {
  return `label-studio:${baseUrl}:${title}`;
}
