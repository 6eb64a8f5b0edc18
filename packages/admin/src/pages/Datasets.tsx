import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Badge, Field, PageHeader } from '../components/bits.js';
import { Dialog } from '../components/Dialog.js';
import { ErrorView, QueryState } from '../components/States.js';
import { useToast } from '../components/Toasts.js';
import { errorInfo, fieldIssues } from '../lib/errors.js';
import { useFormat } from '../lib/format.js';
import { Link, navigate, useLocation } from '../lib/router.js';
import { type RouterInputs, useTRPC } from '../lib/trpc.js';

type ListInput = RouterInputs['datasets']['list'];
type Visibility = NonNullable<ListInput['visibility']>;
type Format = NonNullable<ListInput['format']>;

export const VISIBILITIES: readonly Visibility[] = ['public', 'private', 'organization'];
export const FORMATS: readonly Format[] = ['coco', 'yolo', 'dice', 'imagefolder'];
const PAGE_SIZE = 25;

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

/** Filters live in the URL (`#/datasets?search=…&visibility=…`) so a filtered view can be shared and survives reloads. */
export function DatasetsPage() {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const f = useFormat();
  const id = useId();
  const { params } = useLocation();
  const [search, setSearch] = useState(params.get('search') ?? '');
  const [tags, setTags] = useState(params.get('tags') ?? '');
  const visibility = params.get('visibility') ?? '';
  const labeled = params.get('labeled') ?? '';
  const format = params.get('format') ?? '';
  const page = Math.max(1, Number.parseInt(params.get('page') ?? '1', 10) || 1);
  const debouncedSearch = useDebounced(search.trim(), 250);
  const debouncedTags = useDebounced(tags.trim(), 400);
  const [creating, setCreating] = useState(false);

  const setParam = (changes: Record<string, string>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    if (!('page' in changes)) next.delete('page');
    const qs = next.toString();
    navigate(`/datasets${qs ? `?${qs}` : ''}`, { replace: true });
  };

  useEffect(() => {
    if (debouncedSearch !== (params.get('search') ?? '') || debouncedTags !== (params.get('tags') ?? ''))
      setParam({ search: debouncedSearch, tags: debouncedTags });
  }, [debouncedSearch, debouncedTags]);

  const input: ListInput = {
    page,
    limit: PAGE_SIZE,
    ...(params.get('search') ? { search: params.get('search') ?? '' } : {}),
    ...(params.get('tags') ? { tags: params.get('tags') ?? '' } : {}),
    ...(VISIBILITIES.includes(visibility as Visibility) ? { visibility: visibility as Visibility } : {}),
    ...(FORMATS.includes(format as Format) ? { format: format as Format } : {}),
    ...(labeled === 'true' || labeled === 'false' ? { labeled: labeled === 'true' } : {}),
  };
  const list = useQuery(trpc.datasets.list.queryOptions(input, { placeholderData: keepPreviousData }));
  const filtered = Boolean(params.get('search') || params.get('tags') || visibility || labeled || format);

  return (
    <section>
      <PageHeader
        title={t('datasets.title')}
        intro={t('datasets.intro')}
        actions={
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            {t('datasets.create')}
          </button>
        }
      />
      <form className="filters" aria-label={t('common.filters')} onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor={`${id}-search`}>{t('common.search')}</label>
          <input
            id={`${id}-search`}
            type="search"
            placeholder={t('datasets.searchPlaceholder')}
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-vis`}>{t('datasets.visibility')}</label>
          <select
            id={`${id}-vis`}
            value={visibility}
            onChange={(e) => setParam({ visibility: e.target.value })}
          >
            <option value="">{t('common.all')}</option>
            {VISIBILITIES.map((v) => (
              <option key={v} value={v}>
                {t(`datasets.visibilities.${v}`)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-labeled`}>{t('datasets.labeled')}</label>
          <select
            id={`${id}-labeled`}
            value={labeled}
            onChange={(e) => setParam({ labeled: e.target.value })}
          >
            <option value="">{t('common.all')}</option>
            <option value="true">{t('common.yes')}</option>
            <option value="false">{t('common.no')}</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-format`}>{t('datasets.format')}</label>
          <select id={`${id}-format`} value={format} onChange={(e) => setParam({ format: e.target.value })}>
            <option value="">{t('common.all')}</option>
            {FORMATS.map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-tags`}>{t('datasets.tags')}</label>
          <input
            id={`${id}-tags`}
            placeholder={t('datasets.tagsPlaceholder')}
            value={tags}
            onChange={(e) => setTags(e.target.value)}
          />
        </div>
        {filtered ? (
          <button
            type="button"
            className="link-button"
            onClick={() => {
              setSearch('');
              setTags('');
              navigate('/datasets', { replace: true });
            }}
          >
            {t('common.clearFilters')}
          </button>
        ) : null}
      </form>
      <QueryState
        query={list}
        empty={filtered ? t('datasets.empty') : t('datasets.emptyAll')}
        isEmpty={(d) => d.datasets.length === 0}
      >
        {(data) => {
          const pages = Math.max(1, Math.ceil(data.total / data.limit));
          return (
            <>
              <p className="muted" aria-live="polite">
                {t('datasets.total', { count: data.total })}
              </p>
              <div className="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">{t('common.name')}</th>
                      <th scope="col">{t('datasets.format')}</th>
                      <th scope="col">{t('datasets.visibility')}</th>
                      <th scope="col">{t('datasets.labeled')}</th>
                      <th scope="col" className="num">
                        {t('datasets.images')}
                      </th>
                      <th scope="col" className="num">
                        {t('datasets.classes')}
                      </th>
                      <th scope="col">{t('datasets.owner')}</th>
                      <th scope="col">{t('common.created')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.datasets.map((d) => (
                      <tr key={d.id}>
                        <th scope="row">
                          <Link to={`/datasets/${d.id}`}>{d.name}</Link>
                          <div className="muted small mono">{d.id}</div>
                        </th>
                        <td>{d.format}</td>
                        <td>
                          <Badge tone={d.visibility === 'public' ? 'info' : 'muted'}>
                            {t(`datasets.visibilities.${d.visibility}`)}
                          </Badge>
                        </td>
                        <td>{d.labeled ? t('common.yes') : t('common.no')}</td>
                        <td className="num">{f.number(d.num_images)}</td>
                        <td className="num">{f.number(d.num_classes)}</td>
                        <td>{d.owner_id}</td>
                        <td>{f.date(d.created_at)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {pages > 1 ? (
                <nav className="pager" aria-label={t('common.pageOf', { page: data.page, pages })}>
                  <button
                    type="button"
                    disabled={data.page <= 1}
                    onClick={() => setParam({ page: String(data.page - 1) })}
                  >
                    {t('common.previous')}
                  </button>
                  <span>{t('common.pageOf', { page: data.page, pages })}</span>
                  <button
                    type="button"
                    disabled={data.page >= pages}
                    onClick={() => setParam({ page: String(data.page + 1) })}
                  >
                    {t('common.next')}
                  </button>
                </nav>
              ) : null}
            </>
          );
        }}
      </QueryState>
      {creating ? <CreateDatasetDialog onClose={() => setCreating(false)} /> : null}
    </section>
  );
}

const splitList = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function CreateDatasetDialog({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const id = useId();
  const [form, setForm] = useState({
    name: '',
    description: '',
    format: 'coco' as Format,
    visibility: 'private' as Visibility,
    owner: '',
    labeled: false,
    classes: '',
    tags: '',
  });
  const create = useMutation(
    trpc.datasets.create.mutationOptions({
      onSuccess: async (dataset) => {
        toast.show(t('datasets.createdToast'));
        await queryClient.invalidateQueries({ queryKey: trpc.datasets.list.queryKey() });
        onClose();
        navigate(`/datasets/${dataset.id}`);
      },
    }),
  );
  const issues = create.error ? fieldIssues(errorInfo(create.error)) : {};
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({
      name: form.name,
      description: form.description || null,
      format: form.format,
      visibility: form.visibility,
      owner_id: Number(form.owner),
      labeled: form.labeled,
      class_names: splitList(form.classes),
      tags: splitList(form.tags),
    });
  };
  return (
    <Dialog title={t('datasets.create')} onClose={onClose} wide>
      <form className="form grid-2" onSubmit={submit}>
        <Field id={`${id}-name`} label={t('common.name')} error={issues.name}>
          <input
            id={`${id}-name`}
            required
            value={form.name}
            onChange={(e) => setForm({ ...form, name: e.target.value })}
            data-autofocus
          />
        </Field>
        <Field id={`${id}-owner`} label={t('datasets.ownerId')} error={issues.owner_id}>
          <input
            id={`${id}-owner`}
            required
            type="number"
            min={1}
            inputMode="numeric"
            value={form.owner}
            onChange={(e) => setForm({ ...form, owner: e.target.value })}
          />
        </Field>
        <Field id={`${id}-format`} label={t('datasets.format')}>
          <select
            id={`${id}-format`}
            value={form.format}
            onChange={(e) => setForm({ ...form, format: e.target.value as Format })}
          >
            {FORMATS.map((v) => (
              <option key={v}>{v}</option>
            ))}
          </select>
        </Field>
        <Field id={`${id}-vis`} label={t('datasets.visibility')}>
          <select
            id={`${id}-vis`}
            value={form.visibility}
            onChange={(e) => setForm({ ...form, visibility: e.target.value as Visibility })}
          >
            {VISIBILITIES.map((v) => (
              <option key={v} value={v}>
                {t(`datasets.visibilities.${v}`)}
              </option>
            ))}
          </select>
        </Field>
        <Field
          id={`${id}-classes`}
          label={t('datasets.classNames')}
          hint={t('datasets.classNamesHelp')}
          error={issues.class_names}
        >
          <input
            id={`${id}-classes`}
            value={form.classes}
            onChange={(e) => setForm({ ...form, classes: e.target.value })}
          />
        </Field>
        <Field
          id={`${id}-tags`}
          label={t('datasets.tags')}
          hint={t('datasets.classNamesHelp')}
          error={issues.tags}
        >
          <input
            id={`${id}-tags`}
            value={form.tags}
            onChange={(e) => setForm({ ...form, tags: e.target.value })}
          />
        </Field>
        <Field id={`${id}-desc`} label={`${t('datasets.description')} (${t('common.optional')})`}>
          <textarea
            id={`${id}-desc`}
            rows={2}
            value={form.description}
            onChange={(e) => setForm({ ...form, description: e.target.value })}
          />
        </Field>
        <label className="checkbox">
          <input
            type="checkbox"
            checked={form.labeled}
            onChange={(e) => setForm({ ...form, labeled: e.target.checked })}
          />
          <span>{t('datasets.labeled')}</span>
        </label>
        {create.error && !Object.keys(issues).length ? <ErrorView error={create.error} compact /> : null}
        <div className="form-actions span-2">
          <button type="button" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="primary" disabled={create.isPending}>
            {create.isPending ? t('common.saving') : t('common.create')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
