import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { LanguageSwitcher } from '../components/LanguageSwitcher.js';
import { ErrorView } from '../components/States.js';
import { setCsrfToken, useTRPC } from '../lib/trpc.js';

export function SignInPage({ firstRun, hint }: { firstRun: boolean; hint: string | null }) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const signIn = useMutation(
    trpc.auth.signIn.mutationOptions({
      onSuccess: (session) => {
        setCsrfToken(session.csrf_token);
        queryClient.setQueryData(trpc.auth.session.queryKey(), { session, first_run: false, hint: null });
      },
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    signIn.mutate({ email, password });
  };
  return (
    <div className="signin-page">
      <div className="signin-lang">
        <LanguageSwitcher signedIn={false} />
      </div>
      <main className="signin-card">
        <h1>{t('signIn.title')}</h1>
        {firstRun && hint ? (
          <aside className="callout" aria-label={t('signIn.firstRun')}>
            <strong>{t('signIn.firstRun')}</strong>
            <p>{hint}</p>
          </aside>
        ) : null}
        <form onSubmit={submit} className="form">
          <div className="field">
            <label htmlFor={`${id}-email`}>{t('signIn.email')}</label>
            <input
              id={`${id}-email`}
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor={`${id}-password`}>{t('signIn.password')}</label>
            <input
              id={`${id}-password`}
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </div>
          {signIn.error ? <ErrorView error={signIn.error} compact /> : null}
          <button type="submit" className="primary" disabled={signIn.isPending}>
            {signIn.isPending ? t('signIn.submitting') : t('signIn.submit')}
          </button>
        </form>
      </main>
    </div>
  );
}
