import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Badge, Field, PageHeader, ProgressBar } from '../components/bits.js';
import { Dialog } from '../components/Dialog.js';
import { ErrorView, Loading, QueryState } from '../components/States.js';
import { useToast } from '../components/Toasts.js';
import { isLanguage } from '../i18n/index.js';
import { errorInfo, fieldIssues } from '../lib/errors.js';
import { useFormat } from '../lib/format.js';
import { Link, navigate } from '../lib/router.js';
import { type RouterInputs, type RouterOutputs, useTRPC, useTRPCClient } from '../lib/trpc.js';
import { JobProgress } from './Jobs.js';

type Project = RouterOutputs['annotation']['list']['projects'][number];
type Validation = RouterOutputs['annotation']['validate'];
type ControlType = RouterInputs['annotation']['create']['label_schema']['controls'][number]['type'];

const CONTROL_TYPES: readonly ControlType[] = ['rectangle', 'polygon', 'keypoint', 'brush', 'choices'];
const STATUS_TONE = {
  pending: 'muted',
  ready: 'ok',
  importing: 'info',
  failed: 'bad',
  archived: 'muted',
} as const;
const SYNC_TONE = { pending: 'muted', syncing: 'info', synced: 'ok', failed: 'bad' } as const;
const VALIDATION_TONE = {
  ready: 'ok',
  pending: 'muted',
  not_found: 'warn',
  forbidden: 'bad',
  unreachable: 'bad',
} as const;

export function ProjectsPage({ preselectDataset }: { preselectDataset: string | null }) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const [creating, setCreating] = useState(preselectDataset !== null);
  const list = useQuery(
    trpc.annotation.list.queryOptions(
      { limit: 100, offset: 0 },
      {
        refetchInterval: (q) =>
          q.state.data?.projects.some((p) => p.status === 'importing' || p.sync_status === 'syncing')
            ? 1500
            : 10_000,
      },
    ),
  );
  return (
    <section>
      <PageHeader
        title={t('projects.title')}
        intro={t('projects.intro')}
        actions={
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            {t('projects.create')}
          </button>
        }
      />
      <QueryState query={list} empty={t('projects.empty')} isEmpty={(d) => d.projects.length === 0}>
        {(data) => (
          <ul className="project-list">
            {data.projects.map((project) => (
              <ProjectCard key={project.id} project={project} />
            ))}
          </ul>
        )}
      </QueryState>
      {creating ? (
        <CreateProjectDialog
          preselectDataset={preselectDataset}
          onClose={() => {
            setCreating(false);
            if (preselectDataset) navigate('/projects', { replace: true });
          }}
        />
      ) : null}
    </section>
  );
}

function ProjectCard({ project }: { project: Project }) {
  const { t, i18n } = useTranslation();
  const trpc = useTRPC();
  const client = useTRPCClient();
  const f = useFormat();
  const toast = useToast();
  const queryClient = useQueryClient();
  const [jobId, setJobId] = useState<string | null>(null);
  const [validation, setValidation] = useState<Validation | null>(null);
  const [launchFallback, setLaunchFallback] = useState<string | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.annotation.list.queryKey() });

  const ensure = useMutation(
    trpc.annotation.ensure.mutationOptions({
      onSuccess: async (result) => {
        toast.show(t('projects.ensured', { message: result.message }));
        setValidation(null);
        await refresh();
      },
    }),
  );
  const validate = useMutation({
    mutationFn: () => client.annotation.validate.query({ project_id: project.id }),
    onSuccess: setValidation,
  });
  const onJob = async (result: { job: { id: string } }) => {
    setJobId(result.job.id);
    toast.show(t('projects.jobStarted', { id: result.job.id }));
    await refresh();
  };
  const importTasks = useMutation(trpc.annotation.importTasks.mutationOptions({ onSuccess: onJob }));
  const pull = useMutation(trpc.annotation.pull.mutationOptions({ onSuccess: onJob }));
  const open = useMutation({
    mutationFn: async (target: Window | null) => {
      const locale = isLanguage(i18n.language) ? i18n.language : undefined;
      const link = await client.annotation.authUrl.query({
        project_id: project.id,
        ...(locale ? { locale } : {}),
      });
      return { link, target };
    },
    onSuccess: ({ link, target }) => {
      if (target && !target.closed) target.location.href = link.url;
      else setLaunchFallback(link.url);
    },
    onError: (_error, target) => target?.close(),
  });
  const error = ensure.error ?? importTasks.error ?? pull.error ?? validate.error ?? open.error;
  const busy = ensure.isPending || importTasks.isPending || pull.isPending;
  const ensured = project.external_id !== null;

  return (
    <li
      className="card project"
      data-testid={`project-${project.name}`}
      aria-labelledby={`prj-${project.id}`}
    >
      <div className="project-head">
        <div>
          <h2 id={`prj-${project.id}`}>{project.name}</h2>
          <p className="muted small">
            {t('projects.dataset')}: <Link to={`/datasets/${project.dataset_id}`}>{project.dataset_id}</Link>
            {project.external_id ? ` · Label Studio #${project.external_id}` : ''}
          </p>
        </div>
        <div className="badges">
          <Badge tone={STATUS_TONE[project.status]}>{t(`projects.statuses.${project.status}`)}</Badge>
          <Badge tone={SYNC_TONE[project.sync_status]}>
            {t('projects.syncStatus')}: {t(`projects.syncStatuses.${project.sync_status}`)}
          </Badge>
        </div>
      </div>
      <div className="project-stats">
        <div>
          <span className="stat-label">{t('projects.tasks')}</span>{' '}
          <span className="stat" data-testid="task-count">
            {f.number(project.task_count)}
          </span>
        </div>
        <div>
          <span className="stat-label">{t('projects.annotated')}</span>{' '}
          <span className="stat" data-testid="annotation-count">
            {f.number(project.annotation_count)}
          </span>
        </div>
        <div>
          <span className="stat-label">{t('projects.lastSync')}</span>{' '}
          <span className="stat">
            {project.last_sync_at ? f.dateTime(project.last_sync_at) : t('common.never')}
          </span>
        </div>
      </div>
      <ProgressBar
        done={project.annotation_count}
        total={project.task_count}
        label={t('projects.progressLabel', {
          done: f.number(project.annotation_count),
          total: f.number(project.task_count),
        })}
      />
      {project.last_error ? (
        <p className="warn small">
          {t('projects.lastError')}: {project.last_error}
        </p>
      ) : null}
      {jobId ? <JobProgress key={jobId} jobId={jobId} onFinished={refresh} /> : null}
      {validation ? (
        <div className="callout" aria-live="polite" data-testid="validation">
          <strong>{t('projects.validation')}: </strong>
          <Badge tone={VALIDATION_TONE[validation.status]}>
            {t(`projects.validationStatuses.${validation.status}`)}
          </Badge>{' '}
          {validation.message ?? ''}{' '}
          <span className="muted small">
            {t('projects.checkedAt', { date: f.dateTime(validation.checked_at) })}
          </span>
          <p className="small">{t(`projects.validationHints.${validation.status}`)}</p>
        </div>
      ) : null}
      {error ? <ErrorView error={error} compact /> : null}
      {launchFallback ? (
        <p className="callout">
          {t('projects.popupBlocked', { url: '' })}
          <a href={launchFallback} target="_blank" rel="noopener noreferrer">
            {launchFallback}
          </a>
        </p>
      ) : null}
      <div className="row-actions">
        <button type="button" onClick={() => ensure.mutate({ project_id: project.id })} disabled={busy}>
          {ensure.isPending ? t('common.working') : t('projects.ensure')}
        </button>
        <button type="button" onClick={() => validate.mutate()} disabled={validate.isPending}>
          {t('projects.validate')}
        </button>
        <button
          type="button"
          onClick={() => importTasks.mutate({ project_id: project.id })}
          disabled={busy || !ensured}
        >
          {t('projects.importTasks')}
        </button>
        <button
          type="button"
          onClick={() => pull.mutate({ project_id: project.id })}
          disabled={busy || !ensured}
        >
          {t('projects.pull')}
        </button>
        <button
          type="button"
          className="primary"
          disabled={!ensured || open.isPending}
          title={t('projects.openHelp')}
          onClick={() => {
            setLaunchFallback(null);
            // Open the window during the click (pop-up blockers allow that), then point it at the signed link.
            const target = window.open('about:blank', '_blank');
            if (target) target.opener = null;
            open.mutate(target);
          }}
        >
          {t('projects.open')} ↗<span className="visually-hidden"> ({t('projects.openHelp')})</span>
        </button>
      </div>
    </li>
  );
}

function CreateProjectDialog({
  preselectDataset,
  onClose,
}: {
  preselectDataset: string | null;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const toast = useToast();
  const id = useId();
  const datasets = useQuery(trpc.datasets.list.queryOptions({ page: 1, limit: 200 }));
  const backends = useQuery(trpc.plugins.list.queryOptions({ kind: 'annotation-backend' }));
  const [datasetId, setDatasetId] = useState(preselectDataset ?? '');
  const [backendId, setBackendId] = useState('');
  const [name, setName] = useState('');
  const [controlType, setControlType] = useState<ControlType>('rectangle');
  const [controlName, setControlName] = useState('label');
  const [classes, setClasses] = useState('');
  const [setupNow, setSetupNow] = useState(true);
  const dataset = useQuery(
    trpc.datasets.get.queryOptions({ dataset_id: datasetId }, { enabled: datasetId.startsWith('ds_') }),
  );

  useEffect(() => {
    if (!datasetId && datasets.data?.datasets[0]) setDatasetId(datasets.data.datasets[0].id);
  }, [datasets.data, datasetId]);
  useEffect(() => {
    const first = backends.data?.find((b) => b.enabled) ?? backends.data?.[0];
    if (!backendId && first) setBackendId(first.id);
  }, [backends.data, backendId]);
  const loaded = dataset.data;
  useEffect(() => {
    if (!loaded) return;
    setName((n) => n || loaded.name);
    setClasses((c) => c || loaded.class_names.join('\n'));
  }, [loaded]);

  const create = useMutation({
    mutationFn: async (input: RouterInputs['annotation']['create']) => {
      const project = await client.annotation.create.mutate(input);
      if (setupNow) await client.annotation.ensure.mutate({ project_id: project.id });
      return project;
    },
    onSuccess: async () => {
      toast.show(t('projects.created'));
      await queryClient.invalidateQueries({ queryKey: trpc.annotation.list.queryKey() });
      onClose();
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.annotation.list.queryKey() }),
  });
  const issues = create.error ? fieldIssues(errorInfo(create.error)) : {};
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const labels = classes
      .split(/[\n,]/)
      .map((s) => s.trim())
      .filter(Boolean);
    create.mutate({
      dataset_id: datasetId,
      backend_instance_id: backendId,
      name: name.trim(),
      label_schema: { controls: [{ type: controlType, name: controlName.trim(), labels }] },
    });
  };

  return (
    <Dialog title={t('projects.create')} onClose={onClose} wide>
      {datasets.isPending || backends.isPending ? (
        <Loading />
      ) : datasets.error || backends.error ? (
        <ErrorView error={datasets.error ?? backends.error} />
      ) : !backends.data?.length ? (
        <p className="callout callout-warn">
          {t('projects.noBackend')} <Link to="/connections">{t('nav.connections')}</Link>
        </p>
      ) : (
        <form className="form grid-2" onSubmit={submit}>
          <Field id={`${id}-ds`} label={t('projects.dataset')} error={issues.dataset_id}>
            <select
              id={`${id}-ds`}
              required
              value={datasetId}
              onChange={(e) => setDatasetId(e.target.value)}
              data-autofocus
            >
              {datasets.data?.datasets.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name} ({d.id})
                </option>
              ))}
            </select>
          </Field>
          <Field id={`${id}-be`} label={t('projects.backend')} error={issues.backend_instance_id}>
            <select id={`${id}-be`} required value={backendId} onChange={(e) => setBackendId(e.target.value)}>
              {backends.data.map((b) => (
                <option key={b.id} value={b.id}>
                  {b.name} ({b.plugin_id})
                </option>
              ))}
            </select>
          </Field>
          <Field id={`${id}-name`} label={t('projects.name')} error={issues.name}>
            <input
              id={`${id}-name`}
              required
              maxLength={200}
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
          </Field>
          <Field id={`${id}-type`} label={t('projects.labelType')}>
            <select
              id={`${id}-type`}
              value={controlType}
              onChange={(e) => setControlType(e.target.value as ControlType)}
            >
              {CONTROL_TYPES.map((c) => (
                <option key={c} value={c}>
                  {t(`projects.labelTypes.${c}`)}
                </option>
              ))}
            </select>
          </Field>
          <Field
            id={`${id}-cname`}
            label={t('projects.controlName')}
            hint={t('projects.controlNameHelp')}
            error={issues['label_schema.controls.0.name']}
          >
            <input
              id={`${id}-cname`}
              required
              pattern="[A-Za-z_][A-Za-z0-9_]{0,63}"
              value={controlName}
              onChange={(e) => setControlName(e.target.value)}
            />
          </Field>
          <Field
            id={`${id}-classes`}
            label={t('projects.labelSchema')}
            hint={t('projects.labelSchemaHelp')}
            error={issues['label_schema.controls.0.labels']}
          >
            <textarea
              id={`${id}-classes`}
              required
              rows={4}
              value={classes}
              onChange={(e) => setClasses(e.target.value)}
            />
          </Field>
          <label className="checkbox span-2">
            <input type="checkbox" checked={setupNow} onChange={(e) => setSetupNow(e.target.checked)} />
            <span>{t('projects.setupNow')}</span>
          </label>
          {create.error && !Object.keys(issues).length ? (
            <div className="span-2">
              <ErrorView error={create.error} compact />
            </div>
          ) : null}
          <div className="form-actions span-2">
            <button type="button" onClick={onClose}>
              {t('common.cancel')}
            </button>
            <button type="submit" className="primary" disabled={create.isPending || !datasetId || !backendId}>
              {create.isPending ? t('common.saving') : t('common.create')}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
