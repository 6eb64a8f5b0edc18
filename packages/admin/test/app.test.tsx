import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from '../src/App.js';
import { setCsrfToken } from '../src/lib/trpc.js';
import { ApiError, fakeApi } from './fake-api.js';
import { renderWithApp } from './render.js';

const SESSION = {
  user: { id: 'usr_1', email: 'admin@example.test', name: 'Admin', locale: 'en' },
  csrf_token: 'csrf-123',
  expires_at: '2030-01-01T00:00:00.000Z',
};
const ACCOUNT = {
  id: 'sa_1',
  name: 'platform',
  key_prefix: 'lbl_sa_ab',
  scopes: ['datasets:read'],
  created_at: '2026-01-02T03:04:05.000Z',
  expires_at: null,
  revoked_at: null,
  last_used_at: null,
  status: 'active',
  request_count: 1234,
  rate_limited_count: 2,
  bootstrap: false,
  previous_key_expires_at: null,
};

describe('console app (fetch stubbed at the HTTP boundary)', () => {
  let signedIn: boolean;
  let accounts: Array<typeof ACCOUNT>;
  let api: ReturnType<typeof fakeApi>;

  beforeEach(() => {
    signedIn = false;
    accounts = [ACCOUNT];
    setCsrfToken(null);
    api = fakeApi({
      'auth.session': () => ({ session: signedIn ? SESSION : null, first_run: false, hint: null }),
      'auth.signIn': (input) => {
        const { password } = input as { email: string; password: string };
        if (password !== 'right') throw new ApiError('UNAUTHENTICATED', 'Wrong email or password.', 401);
        signedIn = true;
        return SESSION;
      },
      'auth.setLocale': (input) => input,
      'serviceAccounts.list': () => ({ service_accounts: accounts }),
      'serviceAccounts.create': (input) => {
        const { service_name, scopes } = input as { service_name: string; scopes: string[] };
        return {
          service_account_id: 'sa_2',
          name: service_name,
          api_key: 'lbl_sa_secret_value_123',
          key_prefix: 'lbl_sa_se',
          scopes,
          expires_at: null,
          created_at: '2026-01-03T00:00:00.000Z',
        };
      },
      'serviceAccounts.revoke': () => {
        accounts = [{ ...ACCOUNT, status: 'revoked' }];
        return accounts[0];
      },
    });
    vi.stubGlobal('fetch', api.fetchMock);
    window.location.hash = '#/service-accounts';
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('shows the sign-in form, reports a wrong password, then signs in', async () => {
    renderWithApp(<App />);
    await screen.findByRole('heading', { name: 'Sign in to Labeler' });
    fireEvent.change(screen.getByLabelText('Email'), { target: { value: 'admin@example.test' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'wrong' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByText('Wrong email or password.')).toBeTruthy();
    expect(screen.getByText('Sign in again.')).toBeTruthy();

    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'right' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await screen.findByRole('heading', { name: 'Service accounts', level: 1 });
    const signInCall = api.calls.filter((c) => c.path === 'auth.signIn').at(-1);
    expect(signInCall?.method).toBe('POST');
    expect(signInCall?.input).toEqual({ email: 'admin@example.test', password: 'right' });
  });

  it('shows the first-run hint when no admin exists', async () => {
    api = fakeApi({
      'auth.session': () => ({
        session: null,
        first_run: true,
        hint: 'No admin exists yet: set LABELER_ADMIN_EMAIL.',
      }),
    });
    vi.stubGlobal('fetch', api.fetchMock);
    renderWithApp(<App />);
    expect(await screen.findByText('No admin exists yet: set LABELER_ADMIN_EMAIL.')).toBeTruthy();
  });

  it('lists service accounts with localised usage numbers', async () => {
    signedIn = true;
    renderWithApp(<App />);
    const row = await screen.findByTestId('sa-row-platform');
    expect(row.textContent).toContain('1,234 requests');
    expect(row.textContent).toContain('2 rate-limited');
    expect(row.textContent).toContain('Jan 2, 2026');
  });

  it('creates a key, shows it once, and sends the CSRF token with the mutation', async () => {
    signedIn = true;
    renderWithApp(<App />);
    fireEvent.click(await screen.findByRole('button', { name: 'New service account' }));
    const dialog = await screen.findByRole('dialog');
    fireEvent.change(within(dialog).getByLabelText('Name'), { target: { value: 'nightly' } });
    fireEvent.click(within(dialog).getByRole('checkbox', { name: /datasets:download/ }));
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create' }));
    const key = (await screen.findByTestId('api-key')) as HTMLInputElement;
    expect(key.value).toBe('lbl_sa_secret_value_123');
    expect(screen.getByText(/You will not see it again/)).toBeTruthy();
    const create = api.calls.find((c) => c.path === 'serviceAccounts.create');
    expect(create?.input).toEqual({
      service_name: 'nightly',
      scopes: ['datasets:read', 'datasets:download'],
    });
    expect(create?.headers['x-csrf-token']).toBe('csrf-123');
  });

  it('revokes only after confirmation', async () => {
    signedIn = true;
    renderWithApp(<App />);
    const row = await screen.findByTestId('sa-row-platform');
    fireEvent.click(within(row).getByRole('button', { name: /Revoke/ }));
    const dialog = await screen.findByRole('dialog');
    expect(api.calls.some((c) => c.path === 'serviceAccounts.revoke')).toBe(false);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Revoke' }));
    await waitFor(() => expect(screen.getByTestId('sa-row-platform').textContent).toContain('Revoked'));
    expect(api.calls.find((c) => c.path === 'serviceAccounts.revoke')?.input).toEqual({
      service_account_id: 'sa_1',
    });
  });

  it('switches language, remembers it and saves it for the user', async () => {
    signedIn = true;
    renderWithApp(<App />);
    await screen.findByRole('heading', { name: 'Service accounts', level: 1 });
    fireEvent.change(screen.getByLabelText('Language'), { target: { value: 'ko' } });
    await screen.findByRole('heading', { name: '서비스 계정', level: 1 });
    expect(localStorage.getItem('labeler.locale')).toBe('ko');
    expect(document.documentElement.lang).toBe('ko');
    await waitFor(() =>
      expect(api.calls.find((c) => c.path === 'auth.setLocale')?.input).toEqual({ locale: 'ko' }),
    );
    expect(screen.getByTestId('sa-row-platform').textContent).toContain('요청 1,234건');
  });

  it('shows the server error with its code and a retry when listing fails', async () => {
    signedIn = true;
    api = fakeApi({
      'auth.session': () => ({ session: SESSION, first_run: false, hint: null }),
      'serviceAccounts.list': () => {
        throw new ApiError('INSUFFICIENT_SCOPE', 'This key lacks the "admin" scope.', 403);
      },
    });
    vi.stubGlobal('fetch', api.fetchMock);
    renderWithApp(<App />);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('This key lacks the "admin" scope.');
    expect(alert.textContent).toContain('INSUFFICIENT_SCOPE');
    expect(alert.textContent).toContain('more permissions');
  });
});
