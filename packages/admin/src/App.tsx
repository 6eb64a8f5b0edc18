import {
  hashKey,
  QueryCache,
  QueryClient,
  QueryClientProvider,
  useMutation,
  useQuery,
  useQueryClient,
} from '@tanstack/react-query';
import type { TRPCClient } from '@trpc/client';
import type { i18n as I18n } from 'i18next';
import { type ReactNode, useEffect, useState } from 'react';
import { I18nextProvider, useTranslation } from 'react-i18next';
import { ErrorView, Loading } from './components/States.js';
import { ToastProvider, useToast } from './components/Toasts.js';
import { LanguageSwitcher } from './components/LanguageSwitcher.js';
import { hasStoredLanguage, isLanguage } from './i18n/index.js';
import { errorInfo } from './lib/errors.js';
import { Link, useFocusOnRouteChange, useLocation } from './lib/router.js';
import { type AppRouter, type RouterOutputs, setCsrfToken, TRPCProvider, useTRPC } from './lib/trpc.js';
import { AuditPage } from './pages/Audit.js';
import { ConnectionsPage } from './pages/Connections.js';
import { DatasetDetailPage } from './pages/DatasetDetail.js';
import { DatasetsPage } from './pages/Datasets.js';
import { JobsPage } from './pages/Jobs.js';
import { ProjectsPage } from './pages/Projects.js';
import { ServiceAccountsPage } from './pages/ServiceAccounts.js';
import { SignInPage } from './pages/SignIn.js';
import { WebhooksPage } from './pages/Webhooks.js';

export type Session = NonNullable<RouterOutputs['auth']['session']['session']>;

export function createQueryClient(): QueryClient {
  const client: QueryClient = new QueryClient({
    defaultOptions: {
      queries: {
        retry: (count, error) => count < 2 && errorInfo(error).retryable,
        refetchOnWindowFocus: true,
        staleTime: 5_000,
      },
      mutations: { retry: false },
    },
    queryCache: new QueryCache({
      onError: (error) => {
        // A session that ended on the server: re-ask who is signed in (shows the sign-in page).
        if (errorInfo(error).code === 'UNAUTHENTICATED')
          void client.invalidateQueries({ queryKey: [['auth', 'session']] });
      },
    }),
  });
  return client;
}

export function AppProviders({
  client,
  queryClient,
  i18n,
  children,
}: {
  client: TRPCClient<AppRouter>;
  queryClient: QueryClient;
  i18n: I18n;
  children: ReactNode;
}) {
  return (
    <I18nextProvider i18n={i18n}>
      <QueryClientProvider client={queryClient}>
        <TRPCProvider trpcClient={client} queryClient={queryClient}>
          <ToastProvider>{children}</ToastProvider>
        </TRPCProvider>
      </QueryClientProvider>
    </I18nextProvider>
  );
}

export function App() {
  const trpc = useTRPC();
  const session = useQuery(trpc.auth.session.queryOptions(undefined, { staleTime: 60_000, retry: 1 }));
  if (session.isPending) return <Loading />;
  if (session.error || !session.data) {
    return (
      <main className="centered">
        <ErrorView error={session.error} onRetry={() => void session.refetch()} />
      </main>
    );
  }
  const current = session.data.session;
  setCsrfToken(current?.csrf_token ?? null);
  if (!current) return <SignInPage firstRun={session.data.first_run} hint={session.data.hint} />;
  return <Shell session={current} />;
}

const NAV = [
  { to: '/service-accounts', key: 'nav.serviceAccounts' },
  { to: '/datasets', key: 'nav.datasets' },
  { to: '/projects', key: 'nav.projects' },
  { to: '/connections', key: 'nav.connections' },
  { to: '/jobs', key: 'nav.jobs' },
  { to: '/audit', key: 'nav.audit' },
  { to: '/webhooks', key: 'nav.webhooks' },
] as const;

function Shell({ session }: { session: Session }) {
  const { t, i18n } = useTranslation();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const location = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  useFocusOnRouteChange(location.path);

  // The user's saved language applies unless this browser remembers an explicit choice.
  const savedLocale = session.user.locale;
  useEffect(() => {
    if (!hasStoredLanguage() && isLanguage(savedLocale) && savedLocale !== i18n.language)
      void i18n.changeLanguage(savedLocale);
  }, [savedLocale, i18n]);

  const signOut = useMutation(
    trpc.auth.signOut.mutationOptions({
      onSuccess: () => {
        setCsrfToken(null);
        const sessionKey = trpc.auth.session.queryKey();
        queryClient.setQueryData(sessionKey, { session: null, first_run: false, hint: null });
        // Nothing of the signed-in user stays cached for the next one.
        setTimeout(
          () => queryClient.removeQueries({ predicate: (query) => query.queryHash !== hashKey(sessionKey) }),
          0,
        );
      },
      onError: (error) => toast.show(errorInfo(error).message, 'error'),
    }),
  );

  return (
    <div className="shell">
      <button type="button" className="skip-link" onClick={() => document.getElementById('main')?.focus()}>
        {t('app.skipToContent')}
      </button>
      <header className="topbar">
        <button
          type="button"
          className="menu-button"
          aria-expanded={menuOpen}
          aria-controls="primary-nav"
          onClick={() => setMenuOpen((o) => !o)}
        >
          ☰ <span className="visually-hidden">{t('app.menu')}</span>
        </button>
        <Link to="/" className="brand">
          {t('app.name')} <span className="brand-sub">{t('app.console')}</span>
        </Link>
        <div className="topbar-right">
          <LanguageSwitcher signedIn />
          <span className="user" title={t('app.signedInAs', { email: session.user.email })}>
            {session.user.email}
          </span>
          <button type="button" onClick={() => signOut.mutate()} disabled={signOut.isPending}>
            {t('app.signOut')}
          </button>
        </div>
      </header>
      <div className="layout">
        <nav
          id="primary-nav"
          className={menuOpen ? 'sidenav open' : 'sidenav'}
          aria-label={t('app.navigation')}
        >
          <ul>
            {NAV.map((item) => {
              const active = location.path === item.to || location.path.startsWith(`${item.to}/`);
              return (
                <li key={item.to}>
                  <Link
                    to={item.to}
                    aria-current={active ? 'page' : undefined}
                    onClick={() => setMenuOpen(false)}
                  >
                    {t(item.key)}
                  </Link>
                </li>
              );
            })}
          </ul>
        </nav>
        <main id="main" tabIndex={-1}>
          <Routes />
        </main>
      </div>
    </div>
  );
}

function Routes() {
  const { t } = useTranslation();
  const { segments, params } = useLocation();
  const [first, second] = segments;
  switch (first) {
    case undefined:
    case 'service-accounts':
      return <ServiceAccountsPage />;
    case 'datasets':
      return second ? <DatasetDetailPage datasetId={second} /> : <DatasetsPage />;
    case 'projects':
      return <ProjectsPage preselectDataset={params.get('dataset')} />;
    case 'connections':
      return <ConnectionsPage />;
    case 'jobs':
      return <JobsPage />;
    case 'audit':
      return <AuditPage />;
    case 'webhooks':
      return <WebhooksPage />;
    default:
      return (
        <div className="state">
          <h1>{t('common.notFound')}</h1>
          <Link to="/">{t('common.goHome')}</Link>
        </div>
      );
  }
}
