import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Badge, CopyButton, Field, PageHeader } from '../components/bits.js';
import { ConfirmDialog } from '../components/Dialog.js';
import { ErrorView, Loading, QueryState } from '../components/States.js';
import { useToast } from '../components/Toasts.js';
import { useFormat } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { type RouterOutputs, useTRPC } from '../lib/trpc.js';
import { JobProgress } from './Jobs.js';

type Role = RouterOutputs['datasets']['grant']['role'];
const ROLES: readonly Role[] = ['viewer', 'editor', 'owner'];
const ARCHIVE_TONE = { none: 'muted', building: 'info', ready: 'ok', failed: 'bad' } as const;
const FILES_PAGE = 50;

export function DatasetDetailPage({ datasetId }: { datasetId: string }) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const f = useFormat();
  const dataset = useQuery(trpc.datasets.get.queryOptions({ dataset_id: datasetId }));
  return (
    <section>
      <p className="breadcrumb">
        <Link to="/datasets">← {t('datasets.title')}</Link>
      </p>
      <QueryState query={dataset}>
        {(d) => (
          <>
            <PageHeader
              title={d.name}
              intro={d.description ?? undefined}
              actions={
                <Link className="button" to={`/projects?dataset=${d.id}`}>
                  {t('datasets.newProject')}
                </Link>
              }
            />
            <div className="cards">
              <section className="card" aria-labelledby="meta-h">
                <h2 id="meta-h">{t('datasets.metadata')}</h2>
                <dl className="meta">
                  <dt>{t('datasets.id')}</dt>
                  <dd className="mono">{d.id}</dd>
                  <dt>{t('datasets.format')}</dt>
                  <dd>{d.format}</dd>
                  <dt>{t('datasets.visibility')}</dt>
                  <dd>{t(`datasets.visibilities.${d.visibility}`)}</dd>
                  <dt>{t('datasets.labeled')}</dt>
                  <dd>{d.labeled ? t('common.yes') : t('common.no')}</dd>
                  <dt>{t('datasets.owner')}</dt>
                  <dd>{d.owner_id}</dd>
                  <dt>{t('datasets.images')}</dt>
                  <dd>{f.number(d.num_images)}</dd>
                  <dt>{t('datasets.classes')}</dt>
                  <dd>
                    {f.number(d.num_classes)}
                    {d.class_names.length ? (
                      <span className="muted"> — {d.class_names.slice(0, 20).join(', ')}</span>
                    ) : null}
                  </dd>
                  <dt>{t('datasets.tags')}</dt>
                  <dd>{d.tags.length ? d.tags.join(', ') : t('common.none')}</dd>
                  <dt>{t('datasets.storage')}</dt>
                  <dd>
                    {d.storage_type} <span className="mono small">{d.storage_path}</span>
                  </dd>
                  <dt>{t('datasets.annotationPath')}</dt>
                  <dd className="mono">{d.annotation_path ?? t('common.none')}</dd>
                  <dt>{t('datasets.version')}</dt>
                  <dd>{d.version}</dd>
                  <dt>{t('datasets.contentHash')}</dt>
                  <dd className="mono small">{d.content_hash ?? t('common.none')}</dd>
                  <dt>{t('common.created')}</dt>
                  <dd>{f.dateTime(d.created_at)}</dd>
                  <dt>{t('common.updated')}</dt>
                  <dd>{f.dateTime(d.updated_at)}</dd>
                </dl>
              </section>
              <DownloadCard datasetId={d.id} />
            </div>
            <VersionsSection datasetId={d.id} />
            <AccessSection datasetId={d.id} />
            <FilesSection datasetId={d.id} />
          </>
        )}
      </QueryState>
    </section>
  );
}

function VersionsSection({ datasetId }: { datasetId: string }) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const f = useFormat();
  const toast = useToast();
  const queryClient = useQueryClient();
  const versions = useQuery(
    trpc.datasets.versions.queryOptions(
      { dataset_id: datasetId },
      {
        refetchInterval: (q) =>
          q.state.data?.versions.some((v) => v.archive.status === 'building') ? 2000 : false,
      },
    ),
  );
  const build = useMutation(
    trpc.files.buildArchive.mutationOptions({
      onSuccess: async (job) => {
        const jobId = typeof job === 'object' && job !== null && 'id' in job ? String(job.id) : '';
        toast.show(t('datasets.archiveStarted', { id: jobId }));
        await queryClient.invalidateQueries({
          queryKey: trpc.datasets.versions.queryKey({ dataset_id: datasetId }),
        });
      },
      onError: (error) => toast.show(error.message, 'error'),
    }),
  );
  return (
    <section className="card" aria-labelledby="versions-h">
      <h2 id="versions-h">{t('datasets.versions')}</h2>
      <QueryState query={versions} empty={t('datasets.noVersions')} isEmpty={(d) => d.versions.length === 0}>
        {(data) => (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('datasets.version')}</th>
                  <th scope="col" className="num">
                    {t('datasets.fileCount')}
                  </th>
                  <th scope="col" className="num">
                    {t('datasets.totalSize')}
                  </th>
                  <th scope="col">{t('datasets.note')}</th>
                  <th scope="col">{t('datasets.archive')}</th>
                  <th scope="col">{t('common.created')}</th>
                </tr>
              </thead>
              <tbody>
                {data.versions.map((v) => (
                  <tr key={v.id}>
                    <th scope="row">v{v.version}</th>
                    <td className="num">{f.number(v.file_count)}</td>
                    <td className="num">{f.bytes(v.total_bytes)}</td>
                    <td>{v.note ?? ''}</td>
                    <td>
                      <Badge tone={ARCHIVE_TONE[v.archive.status]}>
                        {t(`datasets.archiveStatus.${v.archive.status}`)}
                      </Badge>
                      {v.archive.size_bytes !== null ? (
                        <span className="muted small"> {f.bytes(v.archive.size_bytes)}</span>
                      ) : null}
                      {v.archive.status === 'none' || v.archive.status === 'failed' ? (
                        <button
                          type="button"
                          className="small-button"
                          disabled={build.isPending}
                          onClick={() => build.mutate({ dataset_id: datasetId, version: v.version })}
                        >
                          {t('datasets.buildArchive')}
                        </button>
                      ) : null}
                    </td>
                    <td>{f.dateTime(v.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryState>
    </section>
  );
}

function AccessSection({ datasetId }: { datasetId: string }) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const f = useFormat();
  const toast = useToast();
  const queryClient = useQueryClient();
  const id = useId();
  const permissions = useQuery(trpc.datasets.permissionsList.queryOptions({ dataset_id: datasetId }));
  const [userId, setUserId] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [removing, setRemoving] = useState<number | null>(null);
  const [checkId, setCheckId] = useState('');
  const [checked, setChecked] = useState<number | null>(null);
  const invalidate = () =>
    queryClient.invalidateQueries({
      queryKey: trpc.datasets.permissionsList.queryKey({ dataset_id: datasetId }),
    });
  const grant = useMutation(
    trpc.datasets.grant.mutationOptions({
      onSuccess: async () => {
        toast.show(t('datasets.granted'));
        setUserId('');
        await invalidate();
        await queryClient.invalidateQueries({ queryKey: trpc.datasets.permission.queryKey() });
      },
    }),
  );
  const revoke = useMutation(
    trpc.datasets.revokePermission.mutationOptions({
      onSuccess: async () => {
        toast.show(t('datasets.permissionRemoved'));
        setRemoving(null);
        await invalidate();
        await queryClient.invalidateQueries({ queryKey: trpc.datasets.permission.queryKey() });
      },
    }),
  );
  const check = useQuery(
    trpc.datasets.permission.queryOptions(
      { dataset_id: datasetId, user_id: checked ?? 1 },
      { enabled: checked !== null },
    ),
  );

  return (
    <section className="card" aria-labelledby="access-h">
      <h2 id="access-h">{t('datasets.access')}</h2>
      <p className="muted">{t('datasets.accessIntro')}</p>
      <form
        className="inline-form"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          const n = Number.parseInt(checkId, 10);
          if (n > 0) setChecked(n);
        }}
      >
        <Field id={`${id}-check`} label={t('datasets.checkAccess')}>
          <input
            id={`${id}-check`}
            type="number"
            min={1}
            inputMode="numeric"
            placeholder={t('datasets.userId')}
            value={checkId}
            onChange={(e) => setCheckId(e.target.value)}
          />
        </Field>
        <button type="submit">{t('datasets.check')}</button>
      </form>
      {checked !== null ? (
        <div aria-live="polite">
          {check.isPending ? (
            <Loading />
          ) : check.error ? (
            <ErrorView error={check.error} compact />
          ) : check.data ? (
            <p className={check.data.has_access ? 'ok-text' : 'warn'} data-testid="access-result">
              {t('datasets.accessResult', {
                user: check.data.user_id,
                result: check.data.has_access ? t('datasets.hasAccess') : t('datasets.noAccess'),
              })}{' '}
              — {t(`datasets.reasons.${check.data.reason}`)}
              {check.data.role ? ` (${t(`datasets.roles.${check.data.role}`)})` : ''}
            </p>
          ) : null}
        </div>
      ) : null}

      <h3>{t('datasets.explicitPermissions')}</h3>
      <QueryState
        query={permissions}
        empty={t('datasets.noPermissions')}
        isEmpty={(d) => d.permissions.length === 0}
      >
        {(data) => (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('datasets.userId')}</th>
                  <th scope="col">{t('datasets.role')}</th>
                  <th scope="col">{t('datasets.grantedBy')}</th>
                  <th scope="col">{t('common.created')}</th>
                  <th scope="col">
                    <span className="visually-hidden">{t('common.actions')}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.permissions.map((p) => (
                  <tr key={p.user_id}>
                    <th scope="row">{p.user_id}</th>
                    <td>{t(`datasets.roles.${p.role}`)}</td>
                    <td>{p.granted_by ?? '—'}</td>
                    <td>{f.dateTime(p.created_at)}</td>
                    <td className="row-actions">
                      <button type="button" className="danger" onClick={() => setRemoving(p.user_id)}>
                        {t('datasets.revokePermission')}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryState>
      <form
        className="inline-form"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          grant.mutate({ dataset_id: datasetId, user_id: Number(userId), role });
        }}
      >
        <Field id={`${id}-user`} label={t('datasets.userId')}>
          <input
            id={`${id}-user`}
            type="number"
            min={1}
            required
            inputMode="numeric"
            value={userId}
            onChange={(e) => setUserId(e.target.value)}
          />
        </Field>
        <Field id={`${id}-role`} label={t('datasets.role')}>
          <select id={`${id}-role`} value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`datasets.roles.${r}`)}
              </option>
            ))}
          </select>
        </Field>
        <button type="submit" className="primary" disabled={grant.isPending}>
          {t('datasets.grant')}
        </button>
      </form>
      {grant.error ? <ErrorView error={grant.error} compact /> : null}
      {removing !== null ? (
        <ConfirmDialog
          danger
          title={t('datasets.revokePermissionTitle', { user: removing })}
          body=""
          confirmLabel={t('datasets.revokePermission')}
          busy={revoke.isPending}
          onClose={() => setRemoving(null)}
          onConfirm={() => revoke.mutate({ dataset_id: datasetId, user_id: removing })}
          error={revoke.error ? <ErrorView error={revoke.error} compact /> : null}
        />
      ) : null}
    </section>
  );
}

const EXPIRATIONS = [900, 3600, 86400, 7 * 86400] as const;

function DownloadCard({ datasetId }: { datasetId: string }) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const f = useFormat();
  const queryClient = useQueryClient();
  const id = useId();
  const [expiration, setExpiration] = useState<number>(3600);
  const [purpose, setPurpose] = useState('');
  const issue = useMutation(
    trpc.datasets.downloadUrl.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries({
          queryKey: trpc.datasets.versions.queryKey({ dataset_id: datasetId }),
        });
      },
    }),
  );
  const label = (s: number) =>
    s < 3600
      ? t('datasets.minutes', { count: s / 60 })
      : s < 86400
        ? t('datasets.hours', { count: s / 3600 })
        : t('datasets.days', { count: s / 86400 });
  return (
    <section className="card" aria-labelledby="dl-h">
      <h2 id="dl-h">{t('datasets.download')}</h2>
      <form
        className="form"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          issue.mutate({
            dataset_id: datasetId,
            expiration_seconds: expiration,
            ...(purpose.trim() ? { purpose: purpose.trim() } : {}),
          });
        }}
      >
        <Field id={`${id}-exp`} label={t('datasets.expiration')}>
          <select id={`${id}-exp`} value={expiration} onChange={(e) => setExpiration(Number(e.target.value))}>
            {EXPIRATIONS.map((s) => (
              <option key={s} value={s}>
                {label(s)}
              </option>
            ))}
          </select>
        </Field>
        <Field id={`${id}-purpose`} label={`${t('datasets.purpose')} (${t('common.optional')})`}>
          <input
            id={`${id}-purpose`}
            maxLength={200}
            value={purpose}
            onChange={(e) => setPurpose(e.target.value)}
          />
        </Field>
        <button type="submit" className="primary" disabled={issue.isPending}>
          {issue.isPending ? t('common.working') : t('datasets.issue')}
        </button>
      </form>
      <div aria-live="polite">
        {issue.error ? <ErrorView error={issue.error} compact /> : null}
        {issue.data?.status === 'ready' ? (
          <div className="field">
            <label htmlFor={`${id}-url`}>
              {t('datasets.urlReady', { date: f.dateTime(issue.data.expires_at) })}
            </label>
            <div className="input-row">
              <input
                id={`${id}-url`}
                readOnly
                className="mono"
                value={issue.data.download_url}
                onFocus={(e) => e.target.select()}
              />
              <CopyButton value={issue.data.download_url} />
            </div>
            <small className="muted">
              {f.bytes(issue.data.size_bytes)} · v{issue.data.version}
            </small>
          </div>
        ) : issue.data?.status === 'building' ? (
          <div className="callout">
            <p>
              {t('datasets.urlBuilding', { id: issue.data.job_id, seconds: issue.data.retry_after_seconds })}
            </p>
            <JobProgress
              key={issue.data.job_id}
              jobId={issue.data.job_id}
              onFinished={() =>
                void queryClient.invalidateQueries({
                  queryKey: trpc.datasets.versions.queryKey({ dataset_id: datasetId }),
                })
              }
            />
          </div>
        ) : null}
      </div>
    </section>
  );
}

function FilesSection({ datasetId }: { datasetId: string }) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const f = useFormat();
  const [offset, setOffset] = useState(0);
  const files = useQuery(
    trpc.files.list.queryOptions(
      { dataset_id: datasetId, limit: FILES_PAGE, offset },
      { placeholderData: keepPreviousData },
    ),
  );
  return (
    <section className="card" aria-labelledby="files-h">
      <h2 id="files-h">{t('datasets.files')}</h2>
      <QueryState query={files} empty={t('datasets.noFiles')} isEmpty={(d) => d.files.length === 0}>
        {(data) => {
          const pages = Math.max(1, Math.ceil(data.total / FILES_PAGE));
          const page = Math.floor(offset / FILES_PAGE) + 1;
          return (
            <>
              <div className="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">{t('datasets.path')}</th>
                      <th scope="col" className="num">
                        {t('datasets.size')}
                      </th>
                      <th scope="col">{t('datasets.version')}</th>
                      <th scope="col">SHA-256</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.files.map((file) => (
                      <tr key={file.path}>
                        <th scope="row" className="mono small">
                          {file.path}
                        </th>
                        <td className="num">{f.bytes(file.size)}</td>
                        <td>v{file.first_version}</td>
                        <td className="mono small" title={file.sha256}>
                          {file.sha256.slice(0, 12)}…
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {pages > 1 ? (
                <nav className="pager" aria-label={t('datasets.files')}>
                  <button type="button" disabled={page <= 1} onClick={() => setOffset(offset - FILES_PAGE)}>
                    {t('common.previous')}
                  </button>
                  <span>{t('common.pageOf', { page, pages })}</span>
                  <button
                    type="button"
                    disabled={page >= pages}
                    onClick={() => setOffset(offset + FILES_PAGE)}
                  >
                    {t('common.next')}
                  </button>
                </nav>
              ) : null}
            </>
          );
        }}
      </QueryState>
    </section>
  );
}
