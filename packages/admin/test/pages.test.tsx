import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionsPage } from '../src/pages/Connections.js';
import { DatasetsPage } from '../src/pages/Datasets.js';
import { JobsPage } from '../src/pages/Jobs.js';
import { ServiceAccountsPage } from '../src/pages/ServiceAccounts.js';
import { fakeApi } from './fake-api.js';
import { renderWithApp } from './render.js';

afterEach(() => vi.unstubAllGlobals());

const LS_DEFINITION = {
  id: 'label-studio',
  kind: 'annotation-backend',
  display_name: 'Label Studio',
  description: 'Annotation backend',
  contract_version: '1.0',
  capabilities: {},
  config_schema: {
    type: 'object',
    required: ['url', 'apiKey'],
    properties: {
      url: { type: 'string' },
      apiKey: { type: 'string', writeOnly: true },
      timeoutMs: { type: 'integer', default: 60000 },
    },
  },
  secret_fields: ['apiKey'],
};
const LS_INSTANCE = {
  id: 'pi_1',
  plugin_id: 'label-studio',
  kind: 'annotation-backend',
  name: 'LS',
  enabled: true,
  is_default: true,
  config: { url: 'http://ls:8080', timeoutMs: 5000 },
  secrets_set: { apiKey: true },
  health: { status: 'unhealthy', message: 'token rejected', checked_at: '2026-01-01T00:00:00.000Z' },
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
};

describe('connections page', () => {
  it('edits a connection: stored secret shown as set, blank secret left out, test shows the diagnosis', async () => {
    const api = fakeApi({
      'plugins.list': () => [LS_INSTANCE],
      'plugins.definitions': () => [LS_DEFINITION],
      'plugins.test': () => ({
        health: { status: 'unhealthy', message: 'Label Studio refused the token', checkedAt: 'x' },
        diagnosis: { ok: false, token: { accepted: false, fix: 'Paste a new Access Token' } },
      }),
      'plugins.update': (input) => ({ ...LS_INSTANCE, ...(input as object) }),
    });
    vi.stubGlobal('fetch', api.fetchMock);
    renderWithApp(<ConnectionsPage />);
    const row = await screen.findByTestId('connection-LS');
    expect(row.textContent).toContain('Unhealthy');
    expect(row.textContent).toContain('token rejected');
    fireEvent.click(within(row).getByRole('button', { name: /Edit/ }));
    const dialog = await screen.findByRole('dialog');
    await within(dialog).findByText('Secret: set');
    expect((within(dialog).getByLabelText(/Url/) as HTMLInputElement).value).toBe('http://ls:8080');

    fireEvent.click(within(dialog).getByRole('button', { name: 'Test connection' }));
    const result = await within(dialog).findByTestId('test-result');
    expect(result.textContent).toContain('Label Studio refused the token');
    expect(result.textContent).toContain('Paste a new Access Token');
    expect(api.calls.find((c) => c.path === 'plugins.test')?.input).toEqual({
      plugin_id: 'label-studio',
      config: { url: 'http://ls:8080', timeoutMs: 5000 },
      instance_id: 'pi_1',
    });

    fireEvent.change(within(dialog).getByLabelText(/Timeout Ms/), { target: { value: '7000' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    await waitFor(() =>
      expect(api.calls.find((c) => c.path === 'plugins.update')?.input).toEqual({
        id: 'pi_1',
        name: 'LS',
        config: { url: 'http://ls:8080', timeoutMs: 7000 },
      }),
    );
  });
});

describe('datasets page', () => {
  it('sends the filters to datasets.list and keeps them in the URL', async () => {
    window.location.hash = '#/datasets';
    const api = fakeApi({ 'datasets.list': () => ({ total: 0, page: 1, limit: 25, datasets: [] }) });
    vi.stubGlobal('fetch', api.fetchMock);
    renderWithApp(<DatasetsPage />);
    await screen.findByText('No datasets yet.');
    fireEvent.change(screen.getByLabelText('Visibility'), { target: { value: 'public' } });
    fireEvent.change(screen.getByLabelText('Labeled'), { target: { value: 'true' } });
    await waitFor(() =>
      expect(api.calls.at(-1)?.input).toEqual({ page: 1, limit: 25, visibility: 'public', labeled: true }),
    );
    expect(window.location.hash).toContain('visibility=public');
    expect(await screen.findByText('No datasets match.')).toBeTruthy();
  });
});

describe('service accounts rotate', () => {
  it('rotates with the chosen overlap and shows the new key with the old key’s end', async () => {
    const api = fakeApi({
      'serviceAccounts.list': () => ({
        service_accounts: [
          {
            id: 'sa_1',
            name: 'platform',
            key_prefix: 'lbl_sa_ab',
            scopes: ['datasets:read'],
            created_at: '2026-01-01T00:00:00.000Z',
            expires_at: null,
            revoked_at: null,
            last_used_at: null,
            status: 'active',
            request_count: 0,
            rate_limited_count: 0,
            bootstrap: false,
            previous_key_expires_at: null,
          },
        ],
      }),
      'serviceAccounts.rotate': () => ({
        service_account_id: 'sa_1',
        name: 'platform',
        api_key: 'lbl_sa_new',
        key_prefix: 'lbl_sa_ne',
        scopes: ['datasets:read'],
        expires_at: null,
        created_at: '2026-01-01T00:00:00.000Z',
        previous_key_expires_at: '2026-01-08T00:00:00.000Z',
      }),
    });
    vi.stubGlobal('fetch', api.fetchMock);
    renderWithApp(<ServiceAccountsPage />);
    fireEvent.click(await screen.findByRole('button', { name: /Rotate key/ }));
    const dialog = await screen.findByRole('dialog');
    fireEvent.change(within(dialog).getByLabelText('Overlap window'), {
      target: { value: String(7 * 86400) },
    });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Rotate key' }));
    expect(((await screen.findByTestId('api-key')) as HTMLInputElement).value).toBe('lbl_sa_new');
    expect(screen.getByText(/Old key valid until Jan 8, 2026/)).toBeTruthy();
    expect(api.calls.find((c) => c.path === 'serviceAccounts.rotate')?.input).toEqual({
      service_account_id: 'sa_1',
      overlap_seconds: 604800,
    });
  });
});

describe('jobs page', () => {
  it('shows progress and error details, cancels after confirmation and retries failed jobs', async () => {
    const job = (id: string, state: string, extra: object = {}) => ({
      id,
      kind: 'annotation.import',
      queue: 'default',
      state,
      dedup_key: null,
      progress: { done: 3, total: 12, message: 'batch 1' },
      attempts: 1,
      error: null,
      created_by: null,
      created_at: '2026-01-01T00:00:00.000Z',
      started_at: null,
      finished_at: null,
      result: null,
      ...extra,
    });
    const api = fakeApi({
      'jobs.list': () => ({
        jobs: [
          job('job_run', 'in_progress'),
          job('job_bad', 'failed', { error: { code: 'BACKEND_AUTH_FAILED', message: 'token rejected' } }),
        ],
        next_cursor: null,
      }),
      'jobs.cancel': () => job('job_run', 'cancelled'),
      'jobs.retry': () => job('job_new', 'queued'),
    });
    vi.stubGlobal('fetch', api.fetchMock);
    renderWithApp(<JobsPage />);
    const running = await screen.findByTestId('job-row-job_run');
    expect(within(running).getByRole('progressbar').getAttribute('aria-valuenow')).toBe('3');
    expect(running.textContent).toContain('3 / 12');
    const failed = screen.getByTestId('job-row-job_bad');
    expect(failed.textContent).toContain('BACKEND_AUTH_FAILED');
    expect(failed.textContent).toContain('token rejected');
    expect(within(failed).queryByRole('button', { name: 'Cancel' })).toBeNull();

    fireEvent.click(within(running).getByRole('button', { name: 'Cancel' }));
    const dialog = await screen.findByRole('dialog');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel job' }));
    await waitFor(() =>
      expect(api.calls.find((c) => c.path === 'jobs.cancel')?.input).toEqual({ job_id: 'job_run' }),
    );

    fireEvent.click(within(failed).getByRole('button', { name: 'Retry' }));
    await waitFor(() =>
      expect(api.calls.find((c) => c.path === 'jobs.retry')?.input).toEqual({ job_id: 'job_bad' }),
    );
  });
});

beforeEach(() => {
  window.location.hash = '';
});
