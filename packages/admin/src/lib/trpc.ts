import type { AppRouter } from '@labeler/server/router';
import { createTRPCClient, httpBatchLink, type TRPCLink } from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';

export type { AppRouter };
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type RouterInputs = inferRouterInputs<AppRouter>;

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

/** The CSRF token of the current session; every request carries it (the server checks it on mutations). */
let csrfToken: string | null = null;
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}
export function getCsrfToken(): string | null {
  return csrfToken;
}

export function createHttpLink(url = '/trpc'): TRPCLink<AppRouter> {
  return httpBatchLink<AppRouter>({
    url,
    headers: () => (csrfToken ? { 'x-csrf-token': csrfToken } : {}),
    fetch: (input, init) => fetch(input, { ...init, credentials: 'same-origin' }),
  });
}

export function createClient(links: TRPCLink<AppRouter>[] = [createHttpLink()]) {
  return createTRPCClient<AppRouter>({ links });
}
