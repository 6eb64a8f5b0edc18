/**
 * A fake of the server's tRPC HTTP endpoint at the fetch boundary: answers batched GET queries and POST
 * mutations from per-procedure handlers, and records every call (path, input, headers) for assertions.
 */
import { vi } from 'vitest';

export interface Call {
  path: string;
  method: string;
  input: unknown;
  headers: Record<string, string>;
}

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 400,
    readonly details: unknown = null,
  ) {
    super(message);
  }
}

type Handler = (input: unknown, call: Call) => unknown;

export function fakeApi(handlers: Record<string, Handler>) {
  const calls: Call[] = [];
  const fetchMock = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
    const u = new URL(String(url), 'http://localhost');
    const paths = decodeURIComponent(u.pathname.replace(/^\/trpc\//, '')).split(',');
    const method = init?.method ?? 'GET';
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, key) => {
      headers[key] = value;
    });
    const rawInputs: Record<string, unknown> =
      method === 'GET'
        ? JSON.parse(u.searchParams.get('input') ?? '{}')
        : init?.body
          ? JSON.parse(String(init.body))
          : {};
    const results = paths.map((path, i) => {
      const input = rawInputs[String(i)];
      const call = { path, method, input, headers };
      calls.push(call);
      const handler = handlers[path];
      try {
        if (!handler) throw new ApiError('ROUTE_NOT_FOUND', `No fake for ${path}`, 404);
        return { result: { data: handler(input, call) } };
      } catch (error) {
        const e = error instanceof ApiError ? error : new ApiError('INTERNAL_ERROR', String(error), 500);
        return {
          error: {
            message: e.message,
            code: -32600,
            data: {
              code: 'BAD_REQUEST',
              httpStatus: e.httpStatus,
              path,
              labeler: { code: e.code, details: e.details, retryable: false },
            },
          },
        };
      }
    });
    const status =
      results.length === 1 && 'error' in results[0]!
        ? (results[0] as { error: { data: { httpStatus: number } } }).error.data.httpStatus
        : 200;
    return new Response(JSON.stringify(results), { status, headers: { 'content-type': 'application/json' } });
  });
  return { calls, fetchMock };
}
