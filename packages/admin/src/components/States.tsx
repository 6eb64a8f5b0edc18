import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { errorInfo } from '../lib/errors.js';
import { en } from '../i18n/en.js';

const HINT_CODES = new Set(Object.keys(en.errors.hints));

export function Loading({ label }: { label?: string }) {
  const { t } = useTranslation();
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label ?? t('common.loading')}
    </div>
  );
}

export function Empty({ children, action }: { children: ReactNode; action?: ReactNode }) {
  return (
    <div className="state state-empty">
      <p>{children}</p>
      {action}
    </div>
  );
}

/** A failed call: what happened (the server's message), its code, and what to do about it. */
export function ErrorView({
  error,
  onRetry,
  compact,
}: {
  error: unknown;
  onRetry?: () => void;
  compact?: boolean;
}) {
  const { t } = useTranslation();
  const info = errorInfo(error);
  const hint =
    info.code && HINT_CODES.has(info.code)
      ? t(`errors.hints.${info.code}` as 'errors.hints.VALIDATION_ERROR')
      : null;
  const message = info.network ? t('errors.network') : info.message;
  return (
    <div className={compact ? 'state state-error compact' : 'state state-error'} role="alert">
      {compact ? null : <strong>{t('states.errorTitle')}</strong>}
      <p className="error-message">{message}</p>
      {hint ? (
        <p className="error-hint">
          <span className="error-hint-label">{t('states.whatToDo')}: </span>
          {hint}
        </p>
      ) : null}
      {info.code ? <p className="error-code">{t('states.errorCode', { code: info.code })}</p> : null}
      {onRetry && (info.retryable || info.network) ? (
        <button type="button" onClick={onRetry}>
          {t('common.retry')}
        </button>
      ) : null}
    </div>
  );
}

/** Renders loading / error / empty / content for one query. */
export function QueryState<T>({
  query,
  empty,
  isEmpty,
  children,
}: {
  query: { data: T | undefined; error: unknown; isPending: boolean; refetch: () => unknown };
  empty?: ReactNode;
  isEmpty?: (data: T) => boolean;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return <Loading />;
  if (query.error || query.data === undefined)
    return <ErrorView error={query.error} onRetry={() => void query.refetch()} />;
  if (empty !== undefined && isEmpty?.(query.data)) return <Empty>{empty}</Empty>;
  return <>{children(query.data)}</>;
}
