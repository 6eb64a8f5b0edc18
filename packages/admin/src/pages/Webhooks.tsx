import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Badge, CopyButton, Field, PageHeader } from '../components/bits.js';
import { ConfirmDialog, Dialog } from '../components/Dialog.js';
import { ErrorView, QueryState } from '../components/States.js';
import { useToast } from '../components/Toasts.js';
import { errorInfo, fieldIssues } from '../lib/errors.js';
import { useFormat } from '../lib/format.js';
import { type RouterOutputs, useTRPC } from '../lib/trpc.js';

type Subscription = RouterOutputs['webhooks']['list']['subscriptions'][number];
type EventType = Subscription['events'][number];
type Delivery = RouterOutputs['webhooks']['deliveries']['deliveries'][number];

export const EVENT_TYPES: readonly EventType[] = [
  'dataset.created',
  'dataset.updated',
  'dataset.deleted',
  'dataset.version.created',
  'dataset.permission.changed',
  'membership.changed',
];
const STATE_TONE = { pending: 'warn', succeeded: 'ok', failed: 'bad' } as const;

/** Subscriptions of the caller's organization (all, for a platform-wide admin) and their delivery logs. */
export function WebhooksPage() {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const list = useQuery(trpc.webhooks.list.queryOptions(undefined, { refetchInterval: 30_000 }));
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<{ url: string; secret: string } | null>(null);
  const [removing, setRemoving] = useState<Subscription | null>(null);
  const [open, setOpen] = useState<string | null>(null);

  return (
    <section aria-labelledby="webhooks-title">
      <PageHeader
        title={t('webhooks.title')}
        intro={t('webhooks.intro')}
        actions={
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            {t('webhooks.create')}
          </button>
        }
      />
      <QueryState query={list} empty={t('webhooks.empty')} isEmpty={(d) => d.subscriptions.length === 0}>
        {(data) => (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('webhooks.url')}</th>
                  <th scope="col">{t('webhooks.events')}</th>
                  <th scope="col">{t('common.status')}</th>
                  <th scope="col">
                    <span className="visually-hidden">{t('common.actions')}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.subscriptions.map((s) => (
                  <SubscriptionRow
                    key={s.id}
                    subscription={s}
                    open={open === s.id}
                    onToggle={() => setOpen((current) => (current === s.id ? null : s.id))}
                    onRotated={(value) => setSecret({ url: s.url, secret: value })}
                    onRemove={() => setRemoving(s)}
                  />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryState>
      {creating ? (
        <CreateDialog
          onClose={() => setCreating(false)}
          onCreated={(created) => {
            setCreating(false);
            setSecret(created);
          }}
        />
      ) : null}
      {secret ? <SecretDialog {...secret} onClose={() => setSecret(null)} /> : null}
      {removing ? <RemoveDialog subscription={removing} onClose={() => setRemoving(null)} /> : null}
    </section>
  );
}

function SubscriptionRow({
  subscription: s,
  open,
  onToggle,
  onRotated,
  onRemove,
}: {
  subscription: Subscription;
  open: boolean;
  onToggle: () => void;
  onRotated: (secret: string) => void;
  onRemove: () => void;
}) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.webhooks.list.queryKey() });
  const onError = (error: unknown) => toast.show(errorInfo(error).message, 'error');
  const update = useMutation(
    trpc.webhooks.update.mutationOptions({ onSuccess: () => void refresh(), onError }),
  );
  const rotate = useMutation(
    trpc.webhooks.rotateSecret.mutationOptions({ onSuccess: (r) => onRotated(r.secret), onError }),
  );
  return (
    <>
      <tr data-testid={`webhook-${s.id}`}>
        <th scope="row">
          <code>{s.url}</code>
          {s.description ? <div className="muted small">{s.description}</div> : null}
        </th>
        <td>
          <ul className="chips">
            {s.events.map((e) => (
              <li key={e}>
                <code>{e}</code>
              </li>
            ))}
          </ul>
        </td>
        <td>
          <Badge tone={s.enabled ? 'ok' : 'bad'}>
            {s.enabled ? t('webhooks.enabled') : t('webhooks.disabled')}
          </Badge>
          {s.disabled_reason ? <div className="muted small">{s.disabled_reason}</div> : null}
          {s.consecutive_failures > 0 ? (
            <div className="warn small">{t('webhooks.failures', { count: s.consecutive_failures })}</div>
          ) : null}
        </td>
        <td className="row-actions">
          <button type="button" aria-expanded={open} onClick={onToggle}>
            {open ? t('webhooks.hideDeliveries') : t('webhooks.deliveries')}
          </button>
          <button
            type="button"
            disabled={update.isPending}
            onClick={() => update.mutate({ subscription_id: s.id, enabled: !s.enabled })}
          >
            {s.enabled ? t('webhooks.disable') : t('webhooks.enable')}
          </button>
          <button
            type="button"
            disabled={rotate.isPending}
            onClick={() => rotate.mutate({ subscription_id: s.id })}
          >
            {t('webhooks.rotate')}
          </button>
          <button type="button" className="danger" onClick={onRemove}>
            {t('webhooks.remove')}
          </button>
        </td>
      </tr>
      {open ? (
        <tr>
          <td colSpan={4}>
            <DeliveryLog subscriptionId={s.id} />
          </td>
        </tr>
      ) : null}
    </>
  );
}

function DeliveryLog({ subscriptionId }: { subscriptionId: string }) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const f = useFormat();
  const queryClient = useQueryClient();
  const toast = useToast();
  const deliveries = useQuery(
    trpc.webhooks.deliveries.queryOptions({ subscription_id: subscriptionId }, { refetchInterval: 5_000 }),
  );
  const replay = useMutation(
    trpc.webhooks.replay.mutationOptions({
      onSuccess: async () => {
        toast.show(t('webhooks.replayed'));
        await queryClient.invalidateQueries({ queryKey: trpc.webhooks.deliveries.queryKey() });
      },
      onError: (error) => toast.show(errorInfo(error).message, 'error'),
    }),
  );
  return (
    <QueryState
      query={deliveries}
      empty={t('webhooks.noDeliveries')}
      isEmpty={(d) => d.deliveries.length === 0}
    >
      {(data) => (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('webhooks.event')}</th>
              <th scope="col">{t('common.created')}</th>
              <th scope="col">{t('common.status')}</th>
              <th scope="col">{t('webhooks.attempts')}</th>
              <th scope="col">
                <span className="visually-hidden">{t('common.actions')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {data.deliveries.map((d: Delivery) => (
              <tr key={d.id} data-testid={`delivery-${d.id}`}>
                <th scope="row">
                  <code>{d.event_type}</code>
                  <div className="muted small mono">{d.id}</div>
                </th>
                <td>{f.dateTime(d.created_at)}</td>
                <td>
                  <Badge tone={STATE_TONE[d.state]}>{t(`webhooks.state.${d.state}`)}</Badge>
                </td>
                <td>
                  <ol className="attempts">
                    {d.log.map((a) => (
                      <li key={a.attempt} title={a.response_excerpt ?? undefined}>
                        {t('webhooks.attempt', { n: a.attempt })}
                        {a.manual ? ` (${t('webhooks.manual')})` : ''}: {a.status_code ?? '—'}
                        {a.error ? <span className="muted small"> {a.error}</span> : null}{' '}
                        <span className="muted small">{a.duration_ms} ms</span>
                      </li>
                    ))}
                  </ol>
                </td>
                <td className="row-actions">
                  {d.state !== 'pending' ? (
                    <button
                      type="button"
                      disabled={replay.isPending}
                      onClick={() => replay.mutate({ subscription_id: subscriptionId, delivery_id: d.id })}
                    >
                      {t('webhooks.replay')}
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </QueryState>
  );
}

function CreateDialog({
  onClose,
  onCreated,
}: {
  onClose: () => void;
  onCreated: (created: { url: string; secret: string }) => void;
}) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const id = useId();
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<EventType[]>([...EVENT_TYPES]);
  const create = useMutation(
    trpc.webhooks.create.mutationOptions({
      onSuccess: async (result) => {
        toast.show(t('webhooks.saved'));
        await queryClient.invalidateQueries({ queryKey: trpc.webhooks.list.queryKey() });
        onCreated({ url: result.url, secret: result.secret });
      },
    }),
  );
  const issues = create.error ? fieldIssues(errorInfo(create.error)) : {};
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ url, events, ...(description.trim() ? { description: description.trim() } : {}) });
  };
  return (
    <Dialog title={t('webhooks.create')} onClose={onClose}>
      <form className="form" onSubmit={submit}>
        <Field id={`${id}-url`} label={t('webhooks.url')} error={issues.url}>
          <input
            id={`${id}-url`}
            type="url"
            required
            maxLength={2000}
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            data-autofocus
          />
        </Field>
        <Field id={`${id}-description`} label={`${t('webhooks.description')} (${t('common.optional')})`}>
          <input
            id={`${id}-description`}
            maxLength={500}
            value={description}
            onChange={(e) => setDescription(e.target.value)}
          />
        </Field>
        <fieldset>
          <legend>{t('webhooks.eventsLegend')}</legend>
          {EVENT_TYPES.map((type) => (
            <label key={type} className="checkbox">
              <input
                type="checkbox"
                name="events"
                value={type}
                checked={events.includes(type)}
                onChange={(e) =>
                  setEvents((current) =>
                    e.target.checked ? [...current, type] : current.filter((x) => x !== type),
                  )
                }
              />
              <code>{type}</code>
            </label>
          ))}
          {issues.events ? <small className="field-error">{issues.events}</small> : null}
        </fieldset>
        {create.error && !Object.keys(issues).length ? <ErrorView error={create.error} compact /> : null}
        <div className="form-actions">
          <button type="button" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="primary" disabled={create.isPending || events.length === 0}>
            {create.isPending ? t('common.saving') : t('common.create')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function SecretDialog({ url, secret, onClose }: { url: string; secret: string; onClose: () => void }) {
  const { t } = useTranslation();
  const id = useId();
  return (
    <Dialog
      title={t('webhooks.secretTitle')}
      onClose={onClose}
      footer={
        <button type="button" className="primary" onClick={onClose}>
          {t('webhooks.secretDone')}
        </button>
      }
    >
      <p className="callout callout-warn" role="alert">
        {t('webhooks.secretWarning')}
      </p>
      <p>
        <code>{url}</code>
      </p>
      <div className="field">
        <label htmlFor={`${id}-secret`}>{t('webhooks.secretLabel')}</label>
        <div className="input-row">
          <input
            id={`${id}-secret`}
            readOnly
            value={secret}
            className="mono"
            data-testid="webhook-secret"
            onFocus={(e) => e.target.select()}
            data-autofocus
          />
          <CopyButton value={secret} />
        </div>
      </div>
    </Dialog>
  );
}

function RemoveDialog({ subscription, onClose }: { subscription: Subscription; onClose: () => void }) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const remove = useMutation(
    trpc.webhooks.delete.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries({ queryKey: trpc.webhooks.list.queryKey() });
        onClose();
      },
    }),
  );
  return (
    <ConfirmDialog
      danger
      title={t('webhooks.removeTitle', { url: subscription.url })}
      body={t('webhooks.removeBody')}
      confirmLabel={t('webhooks.remove')}
      busy={remove.isPending}
      onClose={onClose}
      onConfirm={() => remove.mutate({ subscription_id: subscription.id })}
      error={remove.error ? <ErrorView error={remove.error} compact /> : null}
    />
  );
}
