import { type LabelStudioConfigInput, labelStudioConfigSchema } from '../src/config.js';
import { createLabelStudioBackend, type LabelStudioBackend } from '../src/backend.js';
import type { LabelStudioSimulator } from '../src/simulator/index.js';

/** A backend pointed at the simulator, with fast retries so fault tests stay quick. */
export function backendFor(
  sim: LabelStudioSimulator,
  overrides: Partial<LabelStudioConfigInput> = {},
): LabelStudioBackend {
  const config = labelStudioConfigSchema.parse({
    url: sim.url,
    apiKey: sim.legacyToken,
    retryBaseDelayMs: 2,
    timeoutMs: 5000,
    ...overrides,
  });
  return createLabelStudioBackend(config);
}

export const LABEL_CONFIG =
  '<View><Image name="image" value="$image"/><RectangleLabels name="detections" toName="image"><Label value="cat"/><Label value="dog"/></RectangleLabels></View>';

export interface LsJson {
  status: number;
  body: unknown;
  headers: Headers;
}

/** Raw call against the simulator (for pinning HTTP behaviour). */
export async function call(
  sim: LabelStudioSimulator,
  method: string,
  path: string,
  options: { body?: unknown; auth?: string | null; headers?: Record<string, string> } = {},
): Promise<LsJson> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.auth !== null) headers.authorization = options.auth ?? `Token ${sim.legacyToken}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(sim.url + path, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* keep text */
  }
  return { status: res.status, body, headers: res.headers };
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
