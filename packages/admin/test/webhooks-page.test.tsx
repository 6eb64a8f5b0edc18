import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebhooksPage } from '../src/pages/Webhooks.js';
import { fakeApi } from './fake-api.js';
import { renderWithApp } from './render.js';

afterEach(() => vi.unstubAllGlobals());

const SUB = {
  id: 'wh_0123456789abcdef',
  organization_id: null,
  url: 'https://platform.example/hooks',
  events: ['dataset.created', 'membership.changed'],
  description: 'platform',
  enabled: true,
  disabled_reason: null,
  consecutive_failures: 2,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
};
const DELIVERY = {
  id: 'msg_0123456789abcdef',
  event_id: 'evt_1',
  event_type: 'dataset.created',
  state: 'succeeded',
  attempts: 3,
  next_attempt_at: null,
  last_status: 200,
  last_error: null,
  payload: {},
  created_at: '2026-01-01T00:00:00.000Z',
  log: [
    {
      attempt: 1,
      manual: false,
      status_code: 503,
      duration_ms: 4,
      error: 'HTTP 503',
      response_excerpt: null,
      at: 'x',
    },
    {
      attempt: 2,
      manual: false,
      status_code: null,
      duration_ms: 2,
      error: 'ECONNREFUSED',
      response_excerpt: null,
      at: 'x',
    },
    {
      attempt: 3,
      manual: true,
      status_code: 200,
      duration_ms: 3,
      error: null,
      response_excerpt: 'ok',
      at: 'x',
    },
  ],
};

describe('webhooks page', () => {
  it('creates a subscription with the chosen events and shows the secret once', async () => {
    const api = fakeApi({
      'webhooks.list': () => ({ subscriptions: [] }),
      'webhooks.create': (input) => ({
        ...SUB,
        ...(input as object),
        secret: 'whsec_c2VjcmV0LXNob3duLW9uY2U=',
      }),
    });
    vi.stubGlobal('fetch', api.fetchMock);
    renderWithApp(<WebhooksPage />);
    await screen.findByText('No webhook subscriptions yet.');
    fireEvent.click(screen.getByRole('button', { name: 'Add webhook' }));
    const dialog = await screen.findByRole('dialog');
    fireEvent.change(within(dialog).getByLabelText('Endpoint URL'), {
      target: { value: 'https://platform.example/hooks' },
    });
    // Every event is checked by default; leave out two.
    fireEvent.click(within(dialog).getByRole('checkbox', { name: 'dataset.deleted' }));
    fireEvent.click(within(dialog).getByRole('checkbox', { name: 'membership.changed' }));
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create' }));
    const secret = (await screen.findByTestId('webhook-secret')) as HTMLInputElement;
    expect(secret.value).toBe('whsec_c2VjcmV0LXNob3duLW9uY2U=');
    expect(api.calls.find((c) => c.path === 'webhooks.create')?.input).toEqual({
      url: 'https://platform.example/hooks',
      events: ['dataset.created', 'dataset.updated', 'dataset.version.created', 'dataset.permission.changed'],
    });
    fireEvent.click(screen.getByRole('button', { name: 'I have stored the secret' }));
    await waitFor(() => expect(screen.queryByTestId('webhook-secret')).toBeNull());
  });

  it('lists subscriptions, disables one, shows each attempt of a delivery and replays it', async () => {
    const api = fakeApi({
      'webhooks.list': () => ({ subscriptions: [SUB] }),
      'webhooks.update': (input) => ({ ...SUB, ...(input as object), enabled: false }),
      'webhooks.deliveries': () => ({ deliveries: [DELIVERY] }),
      'webhooks.replay': () => ({ delivery_id: DELIVERY.id, attempt: 4, job_id: 'job_1' }),
    });
    vi.stubGlobal('fetch', api.fetchMock);
    renderWithApp(<WebhooksPage />);
    const row = await screen.findByTestId(`webhook-${SUB.id}`);
    expect(row.textContent).toContain('Enabled');
    expect(row.textContent).toContain('2 failures in a row');
    fireEvent.click(within(row).getByRole('button', { name: 'Disable' }));
    await waitFor(() =>
      expect(api.calls.find((c) => c.path === 'webhooks.update')?.input).toEqual({
        subscription_id: SUB.id,
        enabled: false,
      }),
    );
    fireEvent.click(within(row).getByRole('button', { name: 'Deliveries' }));
    const delivery = await screen.findByTestId(`delivery-${DELIVERY.id}`);
    const attempts = within(delivery)
      .getAllByRole('listitem')
      .map((li) => li.textContent);
    expect(attempts).toHaveLength(3);
    expect(attempts[0]).toContain('Attempt 1: 503');
    expect(attempts[1]).toContain('ECONNREFUSED');
    expect(attempts[2]).toContain('Attempt 3 (replay): 200');
    expect(delivery.textContent).toContain('Delivered');
    fireEvent.click(within(delivery).getByRole('button', { name: 'Replay' }));
    await waitFor(() =>
      expect(api.calls.find((c) => c.path === 'webhooks.replay')?.input).toEqual({
        subscription_id: SUB.id,
        delivery_id: DELIVERY.id,
      }),
    );
    await screen.findByText('Delivery queued again.');
  });

  it('is translated (ko, zh)', async () => {
    for (const [language, title] of [
      ['ko', '웹훅 추가'],
      ['zh', '添加 Webhook'],
    ] as const) {
      const api = fakeApi({ 'webhooks.list': () => ({ subscriptions: [SUB] }) });
      vi.stubGlobal('fetch', api.fetchMock);
      const { unmount } = renderWithApp(<WebhooksPage />, language);
      await screen.findByRole('button', { name: title });
      unmount();
    }
  });
});
