import { useInfiniteQuery } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { PageHeader } from '../components/bits.js';
import { QueryState } from '../components/States.js';
import { useFormat } from '../lib/format.js';
import { type RouterInputs, useTRPC } from '../lib/trpc.js';

type Filters = Omit<RouterInputs['audit']['list'], 'cursor' | 'limit'>;

/** datetime-local value (local time) → ISO with offset, or undefined. */
function toIso(local: string): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function AuditPage() {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const f = useFormat();
  const id = useId();
  const [draft, setDraft] = useState({ action: '', actor: '', target: '', since: '', until: '' });
  const [filters, setFilters] = useState<Filters>({});
  const events = useInfiniteQuery(
    trpc.audit.list.infiniteQueryOptions(
      { ...filters, limit: 50 },
      { getNextPageParam: (last) => last.next_cursor ?? undefined, initialCursor: undefined },
    ),
  );
  const apply = (event: FormEvent) => {
    event.preventDefault();
    const since = toIso(draft.since);
    const until = toIso(draft.until);
    setFilters({
      ...(draft.action.trim() ? { action: draft.action.trim() } : {}),
      ...(draft.actor.trim() ? { actor_id: draft.actor.trim() } : {}),
      ...(draft.target.trim() ? { target_id: draft.target.trim() } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
    });
  };
  const fields = [
    ['action', 'audit.actionFilter', 'text'],
    ['actor', 'audit.actorFilter', 'text'],
    ['target', 'audit.targetFilter', 'text'],
    ['since', 'audit.since', 'datetime-local'],
    ['until', 'audit.until', 'datetime-local'],
  ] as const;
  return (
    <section>
      <PageHeader title={t('audit.title')} intro={t('audit.intro')} />
      <form className="filters" aria-label={t('common.filters')} onSubmit={apply}>
        {fields.map(([key, label, type]) => (
          <div className="field" key={key}>
            <label htmlFor={`${id}-${key}`}>{t(label)}</label>
            <input
              id={`${id}-${key}`}
              type={type}
              value={draft[key]}
              onChange={(e) => setDraft({ ...draft, [key]: e.target.value })}
            />
          </div>
        ))}
        <button type="submit" className="primary">
          {t('audit.apply')}
        </button>
      </form>
      <QueryState
        query={events}
        empty={t('audit.empty')}
        isEmpty={(d) => d.pages.every((p) => p.events.length === 0)}
      >
        {(data) => (
          <>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t('audit.at')}</th>
                    <th scope="col">{t('audit.actor')}</th>
                    <th scope="col">{t('audit.action')}</th>
                    <th scope="col">{t('audit.target')}</th>
                    <th scope="col">{t('common.details')}</th>
                  </tr>
                </thead>
                <tbody>
                  {data.pages.flatMap((page) =>
                    page.events.map((e) => (
                      <tr key={e.id}>
                        <td>{f.dateTime(e.at)}</td>
                        <td>
                          {e.actor_name ?? e.actor_id ?? e.actor_kind}
                          <div className="muted small">
                            {e.actor_kind}
                            {e.ip ? ` · ${t('audit.ip')} ${e.ip}` : ''}
                          </div>
                        </td>
                        <th scope="row">
                          <code>{e.action}</code>
                        </th>
                        <td>
                          {e.target_type ? <span className="muted small">{e.target_type} </span> : null}
                          <span className="mono small">{e.target_id ?? ''}</span>
                        </td>
                        <td className="mono small details-cell">
                          {e.details && Object.keys(e.details).length ? JSON.stringify(e.details) : ''}
                        </td>
                      </tr>
                    )),
                  )}
                </tbody>
              </table>
            </div>
            {events.hasNextPage ? (
              <button
                type="button"
                onClick={() => void events.fetchNextPage()}
                disabled={events.isFetchingNextPage}
              >
                {events.isFetchingNextPage ? t('common.loading') : t('common.loadMore')}
              </button>
            ) : null}
          </>
        )}
      </QueryState>
    </section>
  );
}
