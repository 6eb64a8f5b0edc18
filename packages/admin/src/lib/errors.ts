import { TRPCClientError } from '@trpc/client';

export interface ErrorInfo {
  code: string | null;
  message: string;
  details: unknown;
  retryable: boolean;
  network: boolean;
}

interface LabelerErrorData {
  labeler?: { code?: unknown; details?: unknown; retryable?: unknown };
  httpStatus?: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** What the server said about a failed call: its stable code, message, details and whether a retry may help. */
export function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof TRPCClientError) {
    const data: unknown = error.data;
    const labeler = isRecord(data) ? (data as LabelerErrorData).labeler : undefined;
    if (labeler && typeof labeler.code === 'string') {
      return {
        code: labeler.code,
        message: error.message,
        details: labeler.details ?? null,
        retryable: labeler.retryable === true,
        network: false,
      };
    }
    // No error shape: the request never reached the API (offline, proxy error page).
    return { code: null, message: error.message, details: null, retryable: true, network: !data };
  }
  if (error instanceof Error)
    return { code: null, message: error.message, details: null, retryable: false, network: false };
  return { code: null, message: String(error), details: null, retryable: false, network: false };
}

/** Field-level messages from a VALIDATION_ERROR (`details.issues[].path/message`). */
export function fieldIssues(info: ErrorInfo): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(info.details)) return out;
  const issues = info.details.issues;
  if (!Array.isArray(issues)) return out;
  for (const issue of issues) {
    if (isRecord(issue) && typeof issue.path === 'string' && typeof issue.message === 'string')
      out[issue.path] ??= issue.message;
  }
  return out;
}
