import { expect } from 'vitest';

/** Deep equality where numbers may differ by `eps` (percent ↔ relative math is not exact in floats). */
export function expectClose(actual: unknown, expected: unknown, eps = 1e-9, path = '$'): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    if (Math.abs(actual - expected) > eps)
      expect.fail(`${path}: ${actual} is not within ${eps} of ${expected}`);
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length)
      expect.fail(
        `${path}: array length differs (${JSON.stringify(actual)?.slice(0, 200)} vs ${JSON.stringify(expected).slice(0, 200)})`,
      );
    for (const [i, e] of expected.entries()) expectClose((actual as unknown[])[i], e, eps, `${path}[${i}]`);
    return;
  }
  if (typeof expected === 'object' && expected !== null) {
    if (typeof actual !== 'object' || actual === null)
      expect.fail(`${path}: expected an object, got ${JSON.stringify(actual)}`);
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    const keys = new Set(
      [...Object.keys(a), ...Object.keys(e)].filter((k) => a[k] !== undefined || e[k] !== undefined),
    );
    for (const k of keys) expectClose(a[k], e[k], eps, `${path}.${k}`);
    return;
  }
  if (actual !== expected) expect.fail(`${path}: ${JSON.stringify(actual)} !== ${JSON.stringify(expected)}`);
}
