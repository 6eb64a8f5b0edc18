import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Badge, PageHeader, ProgressBar } from '../components/bits.js';
import { ConfirmDialog } from '../components/Dialog.js';
import { ErrorView, QueryState } from '../components/States.js';
import { useToast } from '../components/Toasts.js';
import { errorInfo } from '../lib/errors.js';
import { useFormat } from '../lib/format.js';
import { type RouterInputs, type RouterOutputs, useTRPC } from '../lib/trpc.js';

type Job = RouterOutputs['jobs']['get'];
type JobState = Job['state'];
const STATES: readonly JobState[] = ['queued', 'in_progress', 'completed', 'failed', 'cancelled'];
const FINAL: ReadonlySet<JobState> = new Set(['completed', 'failed', 'cancelled']);
export const STATE_TONE = {
  queued: 'muted',
  in_progress: 'info',
  completed: 'ok',
  failed: 'bad',
  cancelled: 'warn',
} as const;

export function isFinal(state: JobState): boolean {
  return FINAL.has(state);
}

/** Live progress of one job (polled every second until it is final); calls onFinished once when it ends. */
export function JobProgress({ jobId, onFinished }: { jobId: string; onFinished?: () => void }) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const feed = useQuery(
    trpc.jobs.progress.queryOptions(
      { ids: [jobId] },
      { refetchInterval: (q) => (q.state.data?.all_final ? false : 1000) },
    ),
  );
  const job = feed.data?.jobs[0];
  const finishedRef = useRef(false);
  const onFinishedRef = useRef(onFinished);
  onFinishedRef.current = onFinished;
  useEffect(() => {
    if (job && isFinal(job.state) && !finishedRef.current) {
      finishedRef.current = true;
      onFinishedRef.current?.();
    }
  }, [job]);
  if (feed.error) return <ErrorView error={feed.error} compact />;
  if (!job) return null;
  return (
    <div className="job-progress" aria-live="polite" data-testid={`job-${job.id}`} data-state={job.state}>
      <div className="job-progress-head">
        <span className="mono small">{job.kind}</span>{' '}
        <Badge tone={STATE_TONE[job.state]}>{t(`jobs.states.${job.state}`)}</Badge>
        {job.progress.message ? <span className="muted small"> {job.progress.message}</span> : null}
      </div>
      <ProgressBar
        done={job.progress.done}
        total={job.progress.total ?? (isFinal(job.state) ? job.progress.done : null)}
        label={`${t('jobs.progress')} ${job.id}`}
      />
      {job.error ? (
        <p className="warn small">
          {job.error.code}: {job.error.message}
        </p>
      ) : null}
    </div>
  );
}

export function JobsPage() {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const f = useFormat();
  const toast = useToast();
  const queryClient = useQueryClient();
  const id = useId();
  const [state, setState] = useState<JobState | ''>('');
  const [kind, setKind] = useState('');
  const [cancelling, setCancelling] = useState<Job | null>(null);
  const input: Omit<RouterInputs['jobs']['list'], 'cursor'> = {
    limit: 50,
    ...(state ? { state } : {}),
    ...(kind.trim() ? { kind: kind.trim() } : {}),
  };
  const jobs = useInfiniteQuery(
    trpc.jobs.list.infiniteQueryOptions(input, {
      getNextPageParam: (last) => last.next_cursor ?? undefined,
      initialCursor: undefined,
      refetchInterval: (q) =>
        q.state.data?.pages.some((p) => p.jobs.some((j) => !isFinal(j.state))) ? 1500 : 10_000,
    }),
  );
  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.jobs.list.pathKey() });
  const cancel = useMutation(
    trpc.jobs.cancel.mutationOptions({
      onSuccess: async () => {
        toast.show(t('jobs.cancelled'));
        setCancelling(null);
        await invalidate();
      },
    }),
  );
  const retry = useMutation(
    trpc.jobs.retry.mutationOptions({
      onSuccess: async () => {
        toast.show(t('jobs.retried'));
        await invalidate();
      },
      onError: (error) => toast.show(errorInfo(error).message, 'error'),
    }),
  );
  return (
    <section>
      <PageHeader title={t('jobs.title')} intro={t('jobs.intro')} />
      <form className="filters" aria-label={t('common.filters')} onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor={`${id}-state`}>{t('jobs.state')}</label>
          <select
            id={`${id}-state`}
            value={state}
            onChange={(e) => setState(e.target.value as JobState | '')}
          >
            <option value="">{t('jobs.allStates')}</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {t(`jobs.states.${s}`)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-kind`}>{t('jobs.kind')}</label>
          <input id={`${id}-kind`} value={kind} onChange={(e) => setKind(e.target.value)} />
        </div>
      </form>
      <QueryState
        query={jobs}
        empty={t('jobs.empty')}
        isEmpty={(d) => d.pages.every((p) => p.jobs.length === 0)}
      >
        {(data) => (
          <>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t('jobs.kind')}</th>
                    <th scope="col">{t('jobs.state')}</th>
                    <th scope="col">{t('jobs.progress')}</th>
                    <th scope="col">{t('common.created')}</th>
                    <th scope="col">{t('jobs.finished')}</th>
                    <th scope="col" className="num">
                      {t('jobs.attempts')}
                    </th>
                    <th scope="col">
                      <span className="visually-hidden">{t('common.actions')}</span>
                    </th>
                  </tr>
                </thead>
                <tbody aria-live="polite">
                  {data.pages.flatMap((page) =>
                    page.jobs.map((job) => (
                      <tr key={job.id} data-testid={`job-row-${job.id}`}>
                        <th scope="row">
                          <code>{job.kind}</code>
                          <div className="muted small mono">{job.id}</div>
                        </th>
                        <td>
                          <Badge tone={STATE_TONE[job.state]}>{t(`jobs.states.${job.state}`)}</Badge>
                        </td>
                        <td className="progress-cell">
                          <ProgressBar
                            done={job.progress.done}
                            total={job.progress.total ?? (isFinal(job.state) ? job.progress.done : null)}
                            label={`${t('jobs.progress')} ${job.id}`}
                          />
                          {job.progress.message ? (
                            <div className="muted small">{job.progress.message}</div>
                          ) : null}
                          {job.error ? (
                            <details className="error-details">
                              <summary>
                                {t('jobs.error')}: <code>{job.error.code}</code>
                              </summary>
                              <p>{job.error.message}</p>
                            </details>
                          ) : null}
                        </td>
                        <td>{f.dateTime(job.created_at)}</td>
                        <td>{f.dateTime(job.finished_at)}</td>
                        <td className="num">{f.number(job.attempts)}</td>
                        <td className="row-actions">
                          {isFinal(job.state) ? null : (
                            <button type="button" onClick={() => setCancelling(job)}>
                              {t('jobs.cancel')}
                            </button>
                          )}
                          {job.state === 'failed' || job.state === 'cancelled' ? (
                            <button
                              type="button"
                              disabled={retry.isPending}
                              onClick={() => retry.mutate({ job_id: job.id })}
                            >
                              {t('jobs.retry')}
                            </button>
                          ) : null}
                        </td>
                      </tr>
                    )),
                  )}
                </tbody>
              </table>
            </div>
            {jobs.hasNextPage ? (
              <button
                type="button"
                onClick={() => void jobs.fetchNextPage()}
                disabled={jobs.isFetchingNextPage}
              >
                {jobs.isFetchingNextPage ? t('common.loading') : t('common.loadMore')}
              </button>
            ) : null}
          </>
        )}
      </QueryState>
      {cancelling ? (
        <ConfirmDialog
          danger
          title={t('jobs.cancelTitle', { id: cancelling.id })}
          body={cancelling.kind}
          confirmLabel={t('jobs.cancelJob')}
          cancelLabel={t('jobs.keepRunning')}
          busy={cancel.isPending}
          onClose={() => setCancelling(null)}
          onConfirm={() => cancel.mutate({ job_id: cancelling.id })}
          error={cancel.error ? <ErrorView error={cancel.error} compact /> : null}
        />
      ) : null}
    </section>
  );
}
