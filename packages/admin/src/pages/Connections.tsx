import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Badge, PageHeader } from '../components/bits.js';
import { ConfirmDialog, Dialog } from '../components/Dialog.js';
import { asSchema, type FormValues, initialValues, SchemaForm, toConfig } from '../components/SchemaForm.js';
import { ErrorView, Loading, QueryState } from '../components/States.js';
import { useToast } from '../components/Toasts.js';
import { errorInfo, fieldIssues } from '../lib/errors.js';
import { useFormat } from '../lib/format.js';
import { type RouterOutputs, useTRPC } from '../lib/trpc.js';

type Instance = RouterOutputs['plugins']['list'][number];
type Definition = RouterOutputs['plugins']['definitions'][number];
type TestResult = RouterOutputs['plugins']['test'];

const HEALTH_TONE: Record<string, 'ok' | 'warn' | 'bad' | 'muted'> = {
  healthy: 'ok',
  degraded: 'warn',
  unhealthy: 'bad',
  unknown: 'muted',
};
const KINDS = ['storage', 'annotation-backend', 'auth', 'dataset-connector'] as const;

export function ConnectionsPage() {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const f = useFormat();
  const toast = useToast();
  const queryClient = useQueryClient();
  const list = useQuery(trpc.plugins.list.queryOptions(undefined, { refetchInterval: 30_000 }));
  const definitions = useQuery(trpc.plugins.definitions.queryOptions(undefined, { staleTime: 300_000 }));
  const [editing, setEditing] = useState<{ instance: Instance | null } | null>(null);
  const [removing, setRemoving] = useState<Instance | null>(null);
  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.plugins.list.queryKey() });
  const onError = (error: unknown) => toast.show(errorInfo(error).message, 'error');
  const health = useMutation(trpc.plugins.checkHealth.mutationOptions({ onSettled: invalidate, onError }));
  const update = useMutation(trpc.plugins.update.mutationOptions({ onSuccess: invalidate, onError }));
  const setDefault = useMutation(trpc.plugins.setDefault.mutationOptions({ onSuccess: invalidate, onError }));
  const remove = useMutation(
    trpc.plugins.remove.mutationOptions({
      onSuccess: async () => {
        toast.show(t('connections.removed'));
        setRemoving(null);
        await invalidate();
      },
    }),
  );

  return (
    <section>
      <PageHeader
        title={t('connections.title')}
        intro={t('connections.intro')}
        actions={
          <button
            type="button"
            className="primary"
            onClick={() => setEditing({ instance: null })}
            disabled={!definitions.data?.length}
          >
            {t('connections.add')}
          </button>
        }
      />
      <QueryState query={list} empty={t('connections.empty')} isEmpty={(d) => d.length === 0}>
        {(instances) => (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('common.name')}</th>
                  <th scope="col">{t('connections.plugin')}</th>
                  <th scope="col">{t('connections.kind')}</th>
                  <th scope="col">{t('connections.health')}</th>
                  <th scope="col">{t('common.status')}</th>
                  <th scope="col">
                    <span className="visually-hidden">{t('common.actions')}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {instances.map((instance) => (
                  <tr key={instance.id} data-testid={`connection-${instance.name}`}>
                    <th scope="row">
                      {instance.name}
                      {instance.is_default ? (
                        <>
                          {' '}
                          <Badge tone="info">{t('connections.default')}</Badge>
                        </>
                      ) : null}
                      <div className="muted small mono">{instance.id}</div>
                    </th>
                    <td>{instance.plugin_id}</td>
                    <td>
                      {KINDS.includes(instance.kind)
                        ? t(`connections.kinds.${instance.kind}`)
                        : instance.kind}
                    </td>
                    <td>
                      <Badge tone={HEALTH_TONE[instance.health.status] ?? 'muted'}>
                        {instance.health.status in HEALTH_TONE
                          ? t(`connections.healthStatus.${instance.health.status as 'healthy'}`)
                          : instance.health.status}
                      </Badge>
                      {instance.health.message ? (
                        <div className="small">{instance.health.message}</div>
                      ) : null}
                      {instance.health.checked_at ? (
                        <div className="muted small">
                          {t('connections.checkedAt', { date: f.dateTime(instance.health.checked_at) })}
                        </div>
                      ) : null}
                    </td>
                    <td>{instance.enabled ? t('connections.enabled') : t('connections.disabled')}</td>
                    <td className="row-actions">
                      <button
                        type="button"
                        onClick={() => setEditing({ instance })}
                        aria-label={`${t('connections.edit')}: ${instance.name}`}
                      >
                        {t('connections.edit')}
                      </button>
                      <button
                        type="button"
                        disabled={health.isPending && health.variables?.id === instance.id}
                        onClick={() => health.mutate({ id: instance.id })}
                      >
                        {t('connections.checkHealth')}
                      </button>
                      <button
                        type="button"
                        onClick={() => update.mutate({ id: instance.id, enabled: !instance.enabled })}
                      >
                        {instance.enabled ? t('connections.disable') : t('connections.enable')}
                      </button>
                      {instance.is_default ? null : (
                        <button type="button" onClick={() => setDefault.mutate({ id: instance.id })}>
                          {t('connections.makeDefault')}
                        </button>
                      )}
                      <button type="button" className="danger" onClick={() => setRemoving(instance)}>
                        {t('connections.remove')}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryState>
      {editing ? (
        definitions.data ? (
          <ConnectionDialog
            definitions={definitions.data}
            instance={editing.instance}
            onClose={() => setEditing(null)}
          />
        ) : (
          <Loading />
        )
      ) : null}
      {removing ? (
        <ConfirmDialog
          danger
          title={t('connections.removeTitle', { name: removing.name })}
          body={t('connections.removeBody')}
          confirmLabel={t('connections.remove')}
          busy={remove.isPending}
          onClose={() => setRemoving(null)}
          onConfirm={() => remove.mutate({ id: removing.id })}
          error={remove.error ? <ErrorView error={remove.error} compact /> : null}
        />
      ) : null}
    </section>
  );
}

function ConnectionDialog({
  definitions,
  instance,
  onClose,
}: {
  definitions: Definition[];
  instance: Instance | null;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const id = useId();
  const [pluginId, setPluginId] = useState(instance?.plugin_id ?? definitions[0]?.id ?? '');
  const definition = definitions.find((d) => d.id === pluginId);
  const schema = useMemo(() => asSchema(definition?.config_schema), [definition]);
  const secretPaths = useMemo(() => new Set(definition?.secret_fields ?? []), [definition]);
  const [name, setName] = useState(instance?.name ?? '');
  const [values, setValues] = useState<FormValues>(() =>
    initialValues(schema, instance?.config ?? {}, secretPaths),
  );
  const [testResult, setTestResult] = useState<TestResult | null>(null);

  const saved = async () => {
    toast.show(t('connections.saved'));
    await queryClient.invalidateQueries({ queryKey: trpc.plugins.list.queryKey() });
    onClose();
  };
  const create = useMutation(trpc.plugins.create.mutationOptions({ onSuccess: saved }));
  const update = useMutation(trpc.plugins.update.mutationOptions({ onSuccess: saved }));
  const test = useMutation(trpc.plugins.test.mutationOptions({ onSuccess: setTestResult }));
  const saveError = create.error ?? update.error;
  const issues = saveError
    ? fieldIssues(errorInfo(saveError))
    : test.error
      ? fieldIssues(errorInfo(test.error))
      : {};

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const config = toConfig(schema, values);
    if (instance) update.mutate({ id: instance.id, name, config });
    else create.mutate({ plugin_id: pluginId, name, config });
  };

  return (
    <Dialog
      title={instance ? `${t('connections.edit')}: ${instance.name}` : t('connections.add')}
      onClose={onClose}
      wide
    >
      {definitions.length === 0 ? (
        <p>{t('connections.noPlugins')}</p>
      ) : (
        <form className="form" onSubmit={submit}>
          <div className="grid-2">
            <div className="field">
              <label htmlFor={`${id}-plugin`}>{t('connections.choosePlugin')}</label>
              <select
                id={`${id}-plugin`}
                value={pluginId}
                disabled={instance !== null}
                onChange={(e) => {
                  const next = definitions.find((d) => d.id === e.target.value);
                  setPluginId(e.target.value);
                  setValues(
                    initialValues(asSchema(next?.config_schema), {}, new Set(next?.secret_fields ?? [])),
                  );
                  setTestResult(null);
                }}
              >
                {definitions.map((d) => (
                  <option key={d.id} value={d.id}>
                    {d.display_name} ({KINDS.includes(d.kind) ? t(`connections.kinds.${d.kind}`) : d.kind})
                  </option>
                ))}
              </select>
              {definition?.description ? (
                <small className="field-hint">{definition.description}</small>
              ) : null}
            </div>
            <div className={issues.name ? 'field field-invalid' : 'field'}>
              <label htmlFor={`${id}-name`}>{t('connections.instanceName')}</label>
              <input
                id={`${id}-name`}
                required
                maxLength={100}
                value={name}
                onChange={(e) => setName(e.target.value)}
                data-autofocus
              />
              {issues.name ? <small className="field-error">{issues.name}</small> : null}
            </div>
          </div>
          <fieldset>
            <legend>{t('connections.configuration')}</legend>
            <div className="grid-2">
              <SchemaForm
                schema={schema}
                values={values}
                onChange={setValues}
                secretPaths={secretPaths}
                secretsSet={instance?.secrets_set ?? {}}
                idPrefix={id}
                errors={issues}
              />
            </div>
          </fieldset>
          <div aria-live="polite">
            {test.isPending ? <Loading label={t('connections.testing')} /> : null}
            {test.error ? <ErrorView error={test.error} compact /> : null}
            {testResult ? <TestResultView result={testResult} /> : null}
          </div>
          {saveError && !Object.keys(issues).length ? <ErrorView error={saveError} compact /> : null}
          <div className="form-actions">
            <button
              type="button"
              disabled={test.isPending}
              onClick={() => {
                setTestResult(null);
                test.mutate({
                  plugin_id: pluginId,
                  config: toConfig(schema, values),
                  ...(instance ? { instance_id: instance.id } : {}),
                });
              }}
            >
              {test.isPending ? t('connections.testing') : t('connections.test')}
            </button>
            <span className="spacer" />
            <button type="button" onClick={onClose}>
              {t('common.cancel')}
            </button>
            <button type="submit" className="primary" disabled={create.isPending || update.isPending}>
              {create.isPending || update.isPending ? t('common.saving') : t('common.save')}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

/** Health plus the plugin's own diagnosis (for annotation backends: what was checked and how to fix it). */
export function TestResultView({ result }: { result: TestResult }) {
  const { t } = useTranslation();
  const status = result.health.status;
  return (
    <section className="card test-result" aria-label={t('connections.testResult')} data-testid="test-result">
      <h3>
        {t('connections.testResult')}:{' '}
        <Badge tone={HEALTH_TONE[status] ?? 'muted'}>
          {status in HEALTH_TONE ? t(`connections.healthStatus.${status as 'healthy'}`) : status}
        </Badge>
      </h3>
      {result.health.message ? <p>{result.health.message}</p> : null}
      {result.diagnosis !== undefined ? (
        <>
          <h4>{t('connections.diagnosis')}</h4>
          <Diagnosis value={result.diagnosis} />
        </>
      ) : null}
    </section>
  );
}

function Diagnosis({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span>—</span>;
  if (typeof value !== 'object') return <span>{String(value)}</span>;
  if (Array.isArray(value)) {
    return (
      <ul className="diagnosis">
        {value.map((item, i) => (
          <li key={i}>
            <Diagnosis value={item} />
          </li>
        ))}
      </ul>
    );
  }
  return (
    <dl className="diagnosis">
      {Object.entries(value).map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>
            {typeof v === 'boolean' ? (
              <Badge tone={v ? 'ok' : 'bad'}>{String(v)}</Badge>
            ) : (
              <Diagnosis value={v} />
            )}
          </dd>
        </div>
      ))}
    </dl>
  );
}
