import { render } from '@testing-library/react';
import type { ReactNode } from 'react';
import { AppProviders, createQueryClient } from '../src/App.js';
import { createI18n, type Language } from '../src/i18n/index.js';
import { createClient, createHttpLink } from '../src/lib/trpc.js';

/** Renders with the real providers and the real HTTP link (fetch is stubbed by the test). */
export function renderWithApp(ui: ReactNode, language: Language = 'en') {
  const queryClient = createQueryClient();
  queryClient.setDefaultOptions({ queries: { ...queryClient.getDefaultOptions().queries, retry: false } });
  const i18n = createI18n(language);
  const client = createClient([createHttpLink('http://localhost/trpc')]);
  const result = render(
    <AppProviders client={client} queryClient={queryClient} i18n={i18n}>
      {ui}
    </AppProviders>,
  );
  return { ...result, queryClient, i18n };
}
