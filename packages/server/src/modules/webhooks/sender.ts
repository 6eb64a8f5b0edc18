import http from 'node:http';
import https from 'node:https';
import { guardedLookup, literalRefusal, type UrlPolicy } from './url-guard.js';

export interface SendResult {
  statusCode: number | null;
  durationMs: number;
  /** Why no answer came (timeout, refused, DNS…); never our headers or secret. */
  error: string | null;
  responseExcerpt: string | null;
}

const EXCERPT_BYTES = 512;

/**
 * One signed POST. node:http (not fetch) because its `lookup` hook lets the SSRF guard check the address
 * the socket actually connects to. Redirects are not followed (a 3xx is a failed attempt); the whole
 * attempt is bounded by `timeoutMs`; at most 512 bytes of the answer are kept.
 */
export class WebhookSender {
  readonly #httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  readonly #httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64 });

  constructor(
    private readonly policy: UrlPolicy,
    private readonly timeoutMs: number,
  ) {}

  send(rawUrl: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const url = new URL(rawUrl);
    const literal = literalRefusal(url, this.policy);
    if (literal)
      return Promise.resolve({ statusCode: null, durationMs: 0, error: literal, responseExcerpt: null });
    const client = url.protocol === 'https:' ? https : http;
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      const finish = (result: Omit<SendResult, 'durationMs'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ...result, durationMs: elapsed() });
      };
      const request = client.request(
        url,
        {
          method: 'POST',
          agent: url.protocol === 'https:' ? this.#httpsAgent : this.#httpAgent,
          lookup: guardedLookup(this.policy) as never,
          headers: {
            ...headers,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'user-agent': 'Labeler-Webhooks/1',
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          let kept = 0;
          response.on('data', (chunk: Buffer) => {
            if (kept < EXCERPT_BYTES) {
              chunks.push(chunk.subarray(0, EXCERPT_BYTES - kept));
              kept += Math.min(chunk.length, EXCERPT_BYTES - kept);
            }
          });
          response.on('end', () =>
            finish({
              statusCode: response.statusCode ?? null,
              error: null,
              responseExcerpt: chunks.length ? Buffer.concat(chunks).toString('utf8') : null,
            }),
          );
          response.on('error', (error) =>
            finish({
              statusCode: response.statusCode ?? null,
              error: describe(error),
              responseExcerpt: null,
            }),
          );
        },
      );
      const timer = setTimeout(() => {
        request.destroy();
        finish({ statusCode: null, error: `timeout after ${this.timeoutMs} ms`, responseExcerpt: null });
      }, this.timeoutMs);
      request.on('error', (error) =>
        finish({ statusCode: null, error: describe(error), responseExcerpt: null }),
      );
      request.end(body);
    });
  }

  close(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }
}

/** A short, credential-free reason: the error code and message (our own messages carry no secrets). */
function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'EWEBHOOK_PRIVATE_ADDRESS') return e.message;
  return [e.code, e.message].filter(Boolean).join(': ').slice(0, 300);
}
