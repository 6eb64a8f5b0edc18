import { type ReactNode, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useFormat } from '../lib/format.js';
import { useToast } from './Toasts.js';

export function Badge({
  tone,
  children,
}: {
  tone: 'ok' | 'warn' | 'bad' | 'muted' | 'info';
  children: ReactNode;
}) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

/** A labelled progress bar; announces its value politely. */
export function ProgressBar({ done, total, label }: { done: number; total: number | null; label: string }) {
  const f = useFormat();
  const max = total ?? 0;
  const pct = max > 0 ? Math.min(100, Math.round((done / max) * 100)) : 0;
  return (
    <div className="progress">
      <div
        className="progress-track"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={max || undefined}
        aria-valuenow={total === null ? undefined : done}
        aria-valuetext={total === null ? label : `${f.number(done)} / ${f.number(max)}`}
      >
        <div
          className={total === null ? 'progress-fill indeterminate' : 'progress-fill'}
          style={{ width: total === null ? undefined : `${pct}%` }}
        />
      </div>
      <span className="progress-text">
        {total === null ? f.number(done) : `${f.number(done)} / ${f.number(max)} (${f.percent(done, max)})`}
      </span>
    </div>
  );
}

export function CopyButton({ value, label }: { value: string; label?: string }) {
  const { t } = useTranslation();
  const toast = useToast();
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(value);
          setCopied(true);
          toast.show(t('common.copied'));
          setTimeout(() => setCopied(false), 2000);
        } catch {
          toast.show(t('common.copyFailed'), 'error');
        }
      }}
    >
      {copied ? '✓ ' : ''}
      {label ?? t('common.copy')}
    </button>
  );
}

export function PageHeader({
  title,
  intro,
  actions,
}: {
  title: string;
  intro?: string;
  actions?: ReactNode;
}) {
  return (
    <div className="page-header">
      <div>
        <h1>{title}</h1>
        {intro ? <p className="intro">{intro}</p> : null}
      </div>
      {actions ? <div className="page-actions">{actions}</div> : null}
    </div>
  );
}

export function Field({
  label,
  hint,
  error,
  children,
  id,
}: {
  label: ReactNode;
  hint?: ReactNode;
  error?: string | undefined;
  children: ReactNode;
  id: string;
}) {
  return (
    <div className={error ? 'field field-invalid' : 'field'}>
      <label htmlFor={id}>{label}</label>
      {children}
      {hint ? (
        <small className="field-hint" id={`${id}-hint`}>
          {hint}
        </small>
      ) : null}
      {error ? (
        <small className="field-error" id={`${id}-error`} role="alert">
          {error}
        </small>
      ) : null}
    </div>
  );
}
