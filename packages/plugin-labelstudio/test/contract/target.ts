/** What a contract run needs to know about a Label Studio (the real one or the simulator). */
import { labelStudioConfigSchema, type LabelStudioConfigInput } from '../../src/config.js';
import { createLabelStudioBackend, type LabelStudioBackend } from '../../src/backend.js';

export interface ContractTarget {
  /** 'real' or 'simulator', for test names. */
  name: string;
  url: string;
  /** The admin's legacy token. */
  token: string;
  /** e.g. '1.7.3' (no Personal Access Tokens) or '1.19.0' (modern). */
  version: string;
  /** LOCAL_FILES_DOCUMENT_ROOT, a directory on this machine. */
  documentRoot: string;
  /** A user who can log in through /user/login/ (session-only local files). */
  login: { email: string; password: string };
  /** A Personal Access Token, where the target has them (modern simulator only). */
  personalAccessToken?: string;
}

export function backendOf(
  target: ContractTarget,
  overrides: Partial<LabelStudioConfigInput> = {},
): LabelStudioBackend {
  return createLabelStudioBackend(
    labelStudioConfigSchema.parse({
      url: target.url,
      apiKey: target.token,
      retryBaseDelayMs: 5,
      timeoutMs: 30_000,
      ...overrides,
    }),
  );
}

export interface RawAnswer {
  status: number;
  contentType: string;
  text: string;
  json: unknown;
  headers: Headers;
}

/** One HTTP call, no retries, no redirects followed: the contract pins what Label Studio itself answers. */
export async function raw(
  target: ContractTarget,
  method: string,
  path: string,
  options: { body?: unknown; auth?: string | null; cookie?: string; form?: Record<string, string> } = {},
): Promise<RawAnswer> {
  const headers: Record<string, string> = {};
  if (options.auth !== null) headers.authorization = options.auth ?? `Token ${target.token}`;
  if (options.cookie) headers.cookie = options.cookie;
  let body: string | undefined;
  if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  } else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(target.url + path, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: keep the text */
  }
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    text,
    json,
    headers: res.headers,
  };
}

const cookiesOf = (headers: Headers): Record<string, string> =>
  Object.fromEntries(
    headers.getSetCookie().map((c) => {
      const [pair = ''] = c.split(';');
      const i = pair.indexOf('=');
      return [pair.slice(0, i).trim(), pair.slice(i + 1).trim()];
    }),
  );

/** Logs in through Label Studio's /user/login/ form (CSRF cookie + form field); returns the Cookie header. */
export async function loginSession(target: ContractTarget): Promise<string> {
  const page = await raw(target, 'GET', '/user/login/', { auth: null });
  const csrf = cookiesOf(page.headers).csrftoken;
  if (!csrf) throw new Error(`GET /user/login/ set no csrftoken cookie (status ${page.status})`);
  const answer = await raw(target, 'POST', '/user/login/', {
    auth: null,
    cookie: `csrftoken=${csrf}`,
    form: { csrfmiddlewaretoken: csrf, email: target.login.email, password: target.login.password },
  });
  const session = cookiesOf(answer.headers).sessionid;
  if (answer.status !== 302 || !session)
    throw new Error(`login answered ${answer.status} without a sessionid cookie`);
  return `csrftoken=${csrf}; sessionid=${session}`;
}

export const LABEL_CONFIG =
  '<View><Image name="image" value="$image"/><Choices name="c" toName="image"><Choice value="a"/><Choice value="b"/></Choices></View>';
