import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';

/** The subset of JSON Schema (as zod's toJSONSchema writes it) the connection forms understand. */
export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  writeOnly?: boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  format?: string;
}

export type FormValues = { [key: string]: FormValue };
export type FormValue = string | boolean | FormValues;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asSchema(value: unknown): JsonSchema {
  return isRecord(value) ? (value as JsonSchema) : {};
}

/** Collapses `anyOf: [X, {type: null}]` (nullable/optional) to X. */
export function effective(schema: JsonSchema): JsonSchema {
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants?.length) {
    const nonNull = variants.filter((v) => v.type !== 'null');
    if (nonNull.length === 1) return { ...nonNull[0], ...pick(schema) };
    if (nonNull.every((v) => v.const !== undefined))
      return { ...pick(schema), type: 'string', enum: nonNull.map((v) => v.const) };
  }
  return schema;
}

function pick(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  if (schema.title !== undefined) out.title = schema.title;
  if (schema.description !== undefined) out.description = schema.description;
  if (schema.default !== undefined) out.default = schema.default;
  if (schema.writeOnly !== undefined) out.writeOnly = schema.writeOnly;
  return out;
}

function typeOf(schema: JsonSchema): string {
  const s = effective(schema);
  if (s.enum) return 'enum';
  const type = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type;
  if (type === 'object' && s.properties) return 'object';
  return type ?? 'string';
}

/** Initial form values from the stored (public) config and the schema defaults. Secrets start blank. */
export function initialValues(
  schema: JsonSchema,
  config: Record<string, unknown>,
  secretPaths: ReadonlySet<string>,
  prefix = '',
): FormValues {
  const out: FormValues = {};
  for (const [key, raw] of Object.entries(effective(schema).properties ?? {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    const child = effective(raw);
    const kind = typeOf(child);
    const current = config[key];
    if (kind === 'object')
      out[key] = initialValues(child, isRecord(current) ? current : {}, secretPaths, path);
    else if (secretPaths.has(path) || child.writeOnly) out[key] = '';
    else if (kind === 'boolean') out[key] = typeof current === 'boolean' ? current : child.default === true;
    else {
      const value = current ?? child.default;
      out[key] = value === undefined || value === null ? '' : String(value);
    }
  }
  return out;
}

/**
 * Form values → config. Blank fields are left out (the server applies defaults; a blank secret keeps the
 * stored one). Numbers are parsed; an unparsable number is kept as text so the server reports it.
 */
export function toConfig(schema: JsonSchema, values: FormValues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const parent = effective(schema);
  for (const [key, raw] of Object.entries(parent.properties ?? {})) {
    const child = effective(raw);
    const kind = typeOf(child);
    const value = values[key];
    if (value === undefined) continue;
    if (kind === 'object') {
      const nested = toConfig(child, isRecord(value) ? (value as FormValues) : {});
      // An optional section left at its defaults was not filled in: sending its defaults alone would
      // make the server validate a half-empty section (e.g. a mount without its paths).
      const optional = !(parent.required ?? []).includes(key);
      if (optional && onlyDefaults(child, nested)) continue;
      if (Object.keys(nested).length) out[key] = nested;
    } else if (kind === 'boolean') out[key] = value === true;
    else if (typeof value === 'string') {
      if (value.trim() === '') continue;
      if (kind === 'number' || kind === 'integer') {
        const n = Number(value);
        out[key] = Number.isFinite(n) ? n : value;
      } else if (kind === 'enum') {
        const match = (child.enum ?? []).find((e) => String(e) === value);
        out[key] = match ?? value;
      } else out[key] = value;
    }
  }
  return out;
}

/** True when every value of `config` is its field's schema default (an empty config included). */
function onlyDefaults(schema: JsonSchema, config: Record<string, unknown>): boolean {
  const properties = effective(schema).properties ?? {};
  return Object.entries(config).every(([key, value]) => {
    const field = properties[key];
    if (!field) return false;
    if (isRecord(value)) return onlyDefaults(field, value);
    return effective(field).default !== undefined && effective(field).default === value;
  });
}

function humanize(key: string): string {
  const spaced = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ');
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

/** A form generated from a plugin's config schema. Secret fields are write-only password inputs that show whether a value is stored. */
export function SchemaForm({
  schema,
  values,
  onChange,
  secretPaths,
  secretsSet,
  idPrefix,
  errors,
  prefix = '',
  optionalSection = false,
}: {
  schema: JsonSchema;
  values: FormValues;
  onChange: (values: FormValues) => void;
  secretPaths: ReadonlySet<string>;
  secretsSet: Record<string, boolean>;
  idPrefix: string;
  errors: Record<string, string>;
  prefix?: string;
  /**
   * Inside an optional section (e.g. a mount): its required fields are required only once the section is
   * filled in, so the browser must not block the whole form on them; the server still checks them.
   */
  optionalSection?: boolean;
}) {
  const { t } = useTranslation();
  const s = effective(schema);
  const required = new Set(s.required ?? []);
  const fields: ReactNode[] = [];
  for (const [key, raw] of Object.entries(s.properties ?? {})) {
    const child = effective(raw);
    const path = prefix ? `${prefix}.${key}` : key;
    const id = `${idPrefix}-${path.replace(/\./g, '-')}`;
    const kind = typeOf(child);
    const label = child.title ?? humanize(key);
    const value = values[key];
    const set = (next: FormValue) => onChange({ ...values, [key]: next });
    const error = errors[`config.${path}`] ?? errors[path];
    const describedBy =
      [child.description ? `${id}-desc` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') ||
      undefined;
    const help = child.description ? (
      <small className="field-hint" id={`${id}-desc`}>
        {child.description}
      </small>
    ) : null;
    const errorNode = error ? (
      <small className="field-error" id={`${id}-error`} role="alert">
        {error}
      </small>
    ) : null;
    const reqMark =
      required.has(key) && child.default === undefined ? (
        <span className="req"> ({t('connections.required')})</span>
      ) : null;

    if (kind === 'object') {
      fields.push(
        <fieldset key={path} className="nested">
          <legend>{label}</legend>
          {help}
          <SchemaForm
            schema={child}
            values={typeof value === 'object' ? value : {}}
            onChange={(v) => set(v)}
            secretPaths={secretPaths}
            secretsSet={secretsSet}
            idPrefix={idPrefix}
            errors={errors}
            prefix={path}
            optionalSection={optionalSection || !required.has(key)}
          />
        </fieldset>,
      );
    } else if (secretPaths.has(path) || child.writeOnly) {
      const stored = secretsSet[path] === true;
      fields.push(
        <div key={path} className={error ? 'field field-invalid' : 'field'}>
          <label htmlFor={id}>
            {label}
            {reqMark}{' '}
            <span className={stored ? 'badge badge-ok' : 'badge badge-muted'}>
              {t('connections.secretStatus', {
                status: stored ? t('connections.secretSet') : t('connections.secretNotSet'),
              })}
            </span>
          </label>
          <input
            id={id}
            data-field={path}
            type="password"
            autoComplete="new-password"
            value={typeof value === 'string' ? value : ''}
            onChange={(e) => set(e.target.value)}
            aria-describedby={
              [describedBy, stored ? `${id}-keep` : ''].filter(Boolean).join(' ') || undefined
            }
          />
          {stored ? (
            <small className="field-hint" id={`${id}-keep`}>
              {t('connections.secretKeep')}
            </small>
          ) : null}
          {help}
          {errorNode}
        </div>,
      );
    } else if (kind === 'boolean') {
      fields.push(
        <div key={path} className="field">
          <label className="checkbox" htmlFor={id}>
            <input
              id={id}
              data-field={path}
              type="checkbox"
              checked={value === true}
              onChange={(e) => set(e.target.checked)}
              aria-describedby={describedBy}
            />
            <span>{label}</span>
          </label>
          {help}
          {errorNode}
        </div>,
      );
    } else if (kind === 'enum') {
      fields.push(
        <div key={path} className={error ? 'field field-invalid' : 'field'}>
          <label htmlFor={id}>
            {label}
            {reqMark}
          </label>
          <select
            id={id}
            data-field={path}
            value={typeof value === 'string' ? value : ''}
            onChange={(e) => set(e.target.value)}
            aria-describedby={describedBy}
          >
            {required.has(key) ? null : <option value="">—</option>}
            {(child.enum ?? []).map((option) => (
              <option key={String(option)} value={String(option)}>
                {String(option)}
              </option>
            ))}
          </select>
          {help}
          {errorNode}
        </div>,
      );
    } else {
      const numeric = kind === 'number' || kind === 'integer';
      fields.push(
        <div key={path} className={error ? 'field field-invalid' : 'field'}>
          <label htmlFor={id}>
            {label}
            {reqMark}
          </label>
          <input
            id={id}
            data-field={path}
            type={numeric ? 'number' : child.format === 'uri' ? 'url' : 'text'}
            inputMode={numeric ? 'decimal' : undefined}
            step={kind === 'integer' ? 1 : undefined}
            min={child.minimum}
            max={child.maximum}
            required={!optionalSection && required.has(key) && child.default === undefined}
            value={typeof value === 'string' ? value : ''}
            placeholder={child.default !== undefined ? String(child.default) : undefined}
            onChange={(e) => set(e.target.value)}
            aria-describedby={describedBy}
            aria-invalid={error ? true : undefined}
          />
          {help}
          {errorNode}
        </div>,
      );
    }
  }
  return <>{fields}</>;
}
