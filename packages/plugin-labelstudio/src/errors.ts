/** Maps Label Studio HTTP failures to Labeler errors, keeping LS's own explanation in `details`. */
import { LabelerError } from '@labeler/core';
import { z } from 'zod';
import type { TokenKind } from './token.js';

/** LS's `custom_exception_handler` envelope; every key optional because plain DRF/proxy bodies vary. */
const envelopeSchema = z.looseObject({
  detail: z.unknown().optional(),
  validation_errors: z.record(z.string(), z.unknown()).optional(),
  status_code: z.number().optional(),
});

export interface LsErrorBody {
  detail: string | null;
  validationErrors: Record<string, unknown> | null;
  /** A short, bounded excerpt of a non-JSON body (e.g. a proxy's HTML page). */
  excerpt: string | null;
}

export function parseErrorBody(text: string): LsErrorBody {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { detail: null, validationErrors: null, excerpt: text.slice(0, 300) || null };
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) return { detail: null, validationErrors: null, excerpt: text.slice(0, 300) };
  const { detail, validation_errors, status_code, id, version, exc_info, ...rest } = parsed.data;
  // The raw DRF body of /api/projects/validate/ is a bare field map (no envelope).
  const bare =
    status_code === undefined && detail === undefined && Object.keys(rest).length > 0 ? rest : null;
  return {
    detail: typeof detail === 'string' ? detail : detail === undefined ? null : JSON.stringify(detail),
    validationErrors: validation_errors ?? bare,
    excerpt: null,
  };
}

/** Flattens `{"label_config": ["msg"]}` into readable lines. */
export function validationMessages(errors: Record<string, unknown> | null): string[] {
  if (!errors) return [];
  return Object.entries(errors).flatMap(([field, value]) =>
    (Array.isArray(value) ? value : [value]).map((m) =>
      field === 'non_field_errors' ? String(m) : `${field}: ${String(m)}`,
    ),
  );
}

export interface HttpFailure {
  status: number;
  method: string;
  path: string;
  body: LsErrorBody;
  tokenKind: TokenKind;
  /** The request carried a label config: a 400 without field errors is then LABEL_CONFIG_INVALID. */
  labelConfig?: boolean;
  /** Label Studio's base URL, to point at its account page in fixes. */
  baseUrl?: string;
}

const LEGACY_DISABLED = /legacy token authentication has been disabled/i;

function authFix(failure: HttpFailure): string {
  const detail = failure.body.detail ?? '';
  if (LEGACY_DISABLED.test(detail)) {
    return 'Legacy tokens are disabled for this Label Studio organization. Enable them (Organization → Settings → Access Token Settings) or configure a Personal Access Token (Account & Settings → Personal Access Token) instead.';
  }
  if (failure.status === 403) {
    return "The token's user lacks permission for this call. Use a token of a user who can manage projects in the organization.";
  }
  if (failure.tokenKind === 'legacy') {
    const page = failure.baseUrl ? ` (${failure.baseUrl}/user/account)` : ' (/user/account)';
    return `Copy the Access Token from Label Studio: open Account & Settings → Access Token${page} as the user Labeler should act as, and paste it into the connection; on Label Studio ≥1.17 you can use a Personal Access Token instead.`;
  }
  return 'Create a new Personal Access Token in Label Studio (Account & Settings → Personal Access Token) and update the plugin configuration; check that Personal Access Tokens are enabled for the organization.';
}

export function mapHttpFailure(failure: HttpFailure): LabelerError {
  const { status, method, path, body } = failure;
  const messages = validationMessages(body.validationErrors);
  const lsText =
    body.detail && body.detail !== 'Validation error'
      ? body.detail
      : messages.join('; ') || body.detail || body.excerpt || '';
  const details = {
    status,
    method,
    path,
    ...(body.detail !== null ? { detail: body.detail } : {}),
    ...(body.validationErrors ? { validationErrors: body.validationErrors } : {}),
    ...(body.excerpt ? { body: body.excerpt } : {}),
  };
  const said = lsText ? `: "${lsText}"` : '';
  if (status === 401 || status === 403) {
    const fix = authFix(failure);
    // LS says "Invalid token." for a token it does not know: say it first, it is what a person looks for.
    const lead = status === 401 && /invalid token/i.test(lsText) ? 'Invalid token: ' : '';
    return new LabelerError(
      'BACKEND_AUTH_FAILED',
      `${lead}Label Studio refused ${method} ${path} (${status}${said}). Fix: ${fix}`,
      { details: { ...details, tokenKind: failure.tokenKind, fix } },
    );
  }
  if (status === 404 && body.excerpt !== null) {
    // A route Label Studio does not declare answers Django's HTML 404 page, an object it lacks a JSON one.
    return new LabelerError(
      'BACKEND_NOT_FOUND',
      `Label Studio has no route ${method} ${path} (404): this Label Studio version does not serve it. Check that the URL is Label Studio's base URL and that its version is supported (a route's trailing slash matters).`,
      { details: { status, method, path, route: true } },
    );
  }
  if (status === 404)
    return new LabelerError('BACKEND_NOT_FOUND', `Label Studio has no ${path} (404${said}).`, { details });
  const configErrors = body.validationErrors !== null && 'label_config' in body.validationErrors;

  // Malformed XML comes back as a bare lxml `detail`, so a 400 to a config-carrying call counts too.
  if (status === 400 && (configErrors || (failure.labelConfig && body.validationErrors === null))) {
    return new LabelerError('LABEL_CONFIG_INVALID', `Label Studio rejected the label config${said}.`, {
      details: { ...details, errors: messages.length ? messages : [lsText] },
    });
  }
  if (status === 504)
    return new LabelerError('BACKEND_TIMEOUT', `Label Studio timed out on ${method} ${path} (504).`, {
      details,
    });
  if (status >= 500 || status === 429) {
    return new LabelerError(
      'BACKEND_UNAVAILABLE',
      `Label Studio failed on ${method} ${path} (${status}${said}). Retry later.`,
      { details },
    );
  }
  return new LabelerError('BACKEND_REJECTED', `Label Studio rejected ${method} ${path} (${status}${said}).`, {
    details: { ...details, errors: messages },
  });
}
