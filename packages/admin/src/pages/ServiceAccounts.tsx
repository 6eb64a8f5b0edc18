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

type Account = RouterOutputs['serviceAccounts']['list']['service_accounts'][number];
type Scope = Account['scopes'][number];

export const SCOPES: readonly Scope[] = [
  'datasets:read',
  'datasets:download',
  'datasets:permissions',
  'datasets:write',
  'permissions:write',
  'memberships:write',
  'admin',
];
const STATUS_TONE = { active: 'ok', revoked: 'bad', expired: 'muted' } as const;
const OVERLAPS = [0, 3600, 6 * 3600, 86400, 7 * 86400] as const;

interface RevealedKey {
  name: string;
  apiKey: string;
  previousKeyExpiresAt: string | null;
}

export function ServiceAccountsPage() {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const f = useFormat();
  const list = useQuery(trpc.serviceAccounts.list.queryOptions(undefined, { refetchInterval: 30_000 }));
  const [creating, setCreating] = useState(false);
  const [revealed, setRevealed] = useState<RevealedKey | null>(null);
  const [revoking, setRevoking] = useState<Account | null>(null);
  const [rotating, setRotating] = useState<Account | null>(null);

  return (
    <section aria-labelledby="sa-title">
      <PageHeader
        title={t('serviceAccounts.title')}
        intro={t('serviceAccounts.intro')}
        actions={
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            {t('serviceAccounts.create')}
          </button>
        }
      />
      <QueryState
        query={list}
        empty={t('serviceAccounts.empty')}
        isEmpty={(d) => d.service_accounts.length === 0}
      >
        {(data) => (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('serviceAccounts.name')}</th>
                  <th scope="col">{t('serviceAccounts.keyPrefix')}</th>
                  <th scope="col">{t('serviceAccounts.scopes')}</th>
                  <th scope="col">{t('common.created')}</th>
                  <th scope="col">{t('serviceAccounts.lastUsed')}</th>
                  <th scope="col">{t('serviceAccounts.expires')}</th>
                  <th scope="col">{t('serviceAccounts.usage')}</th>
                  <th scope="col">{t('common.status')}</th>
                  <th scope="col">
                    <span className="visually-hidden">{t('common.actions')}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.service_accounts.map((account) => (
                  <tr key={account.id} data-testid={`sa-row-${account.name}`}>
                    <th scope="row">
                      {account.name}
                      {account.bootstrap ? (
                        <>
                          {' '}
                          <Badge tone="info">{t('serviceAccounts.bootstrap')}</Badge>
                        </>
                      ) : null}
                    </th>
                    <td>
                      <code>{account.key_prefix}…</code>
                    </td>
                    <td>
                      <ul className="chips">
                        {account.scopes.map((s) => (
                          <li key={s}>
                            <code>{s}</code>
                          </li>
                        ))}
                      </ul>
                    </td>
                    <td>{f.date(account.created_at)}</td>
                    <td>{account.last_used_at ? f.dateTime(account.last_used_at) : t('common.never')}</td>
                    <td>
                      {account.expires_at ? f.date(account.expires_at) : t('common.never')}
                      {account.previous_key_expires_at ? (
                        <div className="muted small">
                          {t('serviceAccounts.previousKeyUntil', {
                            date: f.dateTime(account.previous_key_expires_at),
                          })}
                        </div>
                      ) : null}
                    </td>
                    <td>
                      <div>{t('serviceAccounts.requests', { count: account.request_count })}</div>
                      {account.rate_limited_count > 0 ? (
                        <div className="warn small">
                          {t('serviceAccounts.rateLimited', { count: account.rate_limited_count })}
                        </div>
                      ) : null}
                    </td>
                    <td>
                      <Badge tone={STATUS_TONE[account.status]}>
                        {t(`serviceAccounts.status.${account.status}`)}
                      </Badge>
                    </td>
                    <td className="row-actions">
                      {account.status === 'active' && !account.bootstrap ? (
                        <>
                          <button
                            type="button"
                            onClick={() => setRotating(account)}
                            aria-label={`${t('serviceAccounts.rotate')}: ${account.name}`}
                          >
                            {t('serviceAccounts.rotate')}
                          </button>
                          <button
                            type="button"
                            className="danger"
                            onClick={() => setRevoking(account)}
                            aria-label={`${t('serviceAccounts.revoke')}: ${account.name}`}
                          >
                            {t('serviceAccounts.revoke')}
                          </button>
                        </>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryState>
      {creating ? (
        <CreateDialog
          onClose={() => setCreating(false)}
          onCreated={(key) => {
            setCreating(false);
            setRevealed(key);
          }}
        />
      ) : null}
      {revealed ? <KeyDialog revealed={revealed} onClose={() => setRevealed(null)} /> : null}
      {revoking ? <RevokeDialog account={revoking} onClose={() => setRevoking(null)} /> : null}
      {rotating ? (
        <RotateDialog
          account={rotating}
          onClose={() => setRotating(null)}
          onRotated={(key) => {
            setRotating(null);
            setRevealed(key);
          }}
        />
      ) : null}
    </section>
  );
}

function CreateDialog({
  onClose,
  onCreated,
}: {
  onClose: () => void;
  onCreated: (key: RevealedKey) => void;
}) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const id = useId();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<Scope[]>(['datasets:read']);
  const [days, setDays] = useState('');
  const create = useMutation(
    trpc.serviceAccounts.create.mutationOptions({
      onSuccess: async (result) => {
        toast.show(t('serviceAccounts.created'));
        await queryClient.invalidateQueries({ queryKey: trpc.serviceAccounts.list.queryKey() });
        onCreated({ name: result.name, apiKey: result.api_key, previousKeyExpiresAt: null });
      },
    }),
  );
  const issues = create.error ? fieldIssues(errorInfo(create.error)) : {};
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const expires = Number.parseInt(days, 10);
    create.mutate({
      service_name: name,
      scopes,
      ...(Number.isFinite(expires) && expires > 0 ? { expires_in_days: expires } : {}),
    });
  };
  return (
    <Dialog title={t('serviceAccounts.create')} onClose={onClose}>
      <form className="form" onSubmit={submit}>
        <Field id={`${id}-name`} label={t('serviceAccounts.name')} error={issues.service_name}>
          <input
            id={`${id}-name`}
            required
            maxLength={100}
            value={name}
            onChange={(e) => setName(e.target.value)}
            data-autofocus
          />
        </Field>
        <fieldset>
          <legend>{t('serviceAccounts.scopesLegend')}</legend>
          {SCOPES.map((scope) => (
            <label key={scope} className="checkbox">
              <input
                type="checkbox"
                name="scopes"
                value={scope}
                checked={scopes.includes(scope)}
                onChange={(e) =>
                  setScopes((current) =>
                    e.target.checked ? [...current, scope] : current.filter((s) => s !== scope),
                  )
                }
              />
              <span>
                <code>{scope}</code> <span className="muted">{t(`serviceAccounts.scopeHelp.${scope}`)}</span>
              </span>
            </label>
          ))}
          {issues.scopes ? <small className="field-error">{issues.scopes}</small> : null}
        </fieldset>
        <Field
          id={`${id}-days`}
          label={`${t('serviceAccounts.expiresInDays')} (${t('common.optional')})`}
          hint={t('serviceAccounts.expiresHelp')}
          error={issues.expires_in_days}
        >
          <input
            id={`${id}-days`}
            type="number"
            min={1}
            max={3650}
            inputMode="numeric"
            value={days}
            onChange={(e) => setDays(e.target.value)}
          />
        </Field>
        {create.error && !Object.keys(issues).length ? <ErrorView error={create.error} compact /> : null}
        <div className="form-actions">
          <button type="button" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="primary" disabled={create.isPending || scopes.length === 0}>
            {create.isPending ? t('common.saving') : t('common.create')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function KeyDialog({ revealed, onClose }: { revealed: RevealedKey; onClose: () => void }) {
  const { t } = useTranslation();
  const f = useFormat();
  const id = useId();
  return (
    <Dialog
      title={t('serviceAccounts.keyTitle')}
      onClose={onClose}
      footer={
        <button type="button" className="primary" onClick={onClose}>
          {t('serviceAccounts.keyDone')}
        </button>
      }
    >
      <p className="callout callout-warn" role="alert">
        {t('serviceAccounts.keyWarning')}
      </p>
      <p>
        <strong>{revealed.name}</strong>
      </p>
      <div className="field">
        <label htmlFor={`${id}-key`}>{t('serviceAccounts.keyLabel')}</label>
        <div className="input-row">
          <input
            id={`${id}-key`}
            readOnly
            value={revealed.apiKey}
            className="mono"
            data-testid="api-key"
            onFocus={(e) => e.target.select()}
            data-autofocus
          />
          <CopyButton value={revealed.apiKey} />
        </div>
      </div>
      {revealed.previousKeyExpiresAt ? (
        <p className="muted">
          {t('serviceAccounts.previousKeyUntil', { date: f.dateTime(revealed.previousKeyExpiresAt) })}
        </p>
      ) : null}
    </Dialog>
  );
}

function RevokeDialog({ account, onClose }: { account: Account; onClose: () => void }) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const revoke = useMutation(
    trpc.serviceAccounts.revoke.mutationOptions({
      onSuccess: async () => {
        toast.show(t('serviceAccounts.revoked'));
        await queryClient.invalidateQueries({ queryKey: trpc.serviceAccounts.list.queryKey() });
        onClose();
      },
    }),
  );
  return (
    <ConfirmDialog
      danger
      title={t('serviceAccounts.revokeTitle', { name: account.name })}
      body={t('serviceAccounts.revokeBody')}
      confirmLabel={t('serviceAccounts.revoke')}
      busy={revoke.isPending}
      onClose={onClose}
      onConfirm={() => revoke.mutate({ service_account_id: account.id })}
      error={revoke.error ? <ErrorView error={revoke.error} compact /> : null}
    />
  );
}

function RotateDialog({
  account,
  onClose,
  onRotated,
}: {
  account: Account;
  onClose: () => void;
  onRotated: (key: RevealedKey) => void;
}) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [overlap, setOverlap] = useState<number>(86400);
  const rotate = useMutation(
    trpc.serviceAccounts.rotate.mutationOptions({
      onSuccess: async (result) => {
        await queryClient.invalidateQueries({ queryKey: trpc.serviceAccounts.list.queryKey() });
        onRotated({
          name: result.name,
          apiKey: result.api_key,
          previousKeyExpiresAt: result.previous_key_expires_at,
        });
      },
    }),
  );
  const label = (seconds: number) =>
    seconds === 0
      ? t('serviceAccounts.overlapNone')
      : seconds < 86400
        ? t('serviceAccounts.overlapHours', { count: seconds / 3600 })
        : t('serviceAccounts.overlapDays', { count: seconds / 86400 });
  return (
    <Dialog
      title={t('serviceAccounts.rotateTitle', { name: account.name })}
      onClose={onClose}
      footer={
        <>
          <button type="button" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button
            type="button"
            className="primary"
            disabled={rotate.isPending}
            onClick={() => rotate.mutate({ service_account_id: account.id, overlap_seconds: overlap })}
          >
            {rotate.isPending ? t('common.working') : t('serviceAccounts.rotate')}
          </button>
        </>
      }
    >
      <p>{t('serviceAccounts.rotateBody')}</p>
      <Field id={`${id}-overlap`} label={t('serviceAccounts.overlap')}>
        <select
          id={`${id}-overlap`}
          value={overlap}
          onChange={(e) => setOverlap(Number(e.target.value))}
          data-autofocus
        >
          {OVERLAPS.map((s) => (
            <option key={s} value={s}>
              {label(s)}
            </option>
          ))}
        </select>
      </Field>
      {rotate.error ? <ErrorView error={rotate.error} compact /> : null}
    </Dialog>
  );
}
