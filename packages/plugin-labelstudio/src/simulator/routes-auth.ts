/** Connectivity, identity and token endpoints (reference §2.2, §2.5). */
import { randomUUID } from 'node:crypto';
import type { SimContext } from './context.js';
import { HttpError, route, type Route, type SimResponse, validationError } from './http.js';
import { signJwt, verifyJwt } from './jwt.js';

const TOKEN_INVALID = 'Token is invalid or expired';

export function issuePersonalAccessToken(ctx: SimContext): string {
  const iat = Math.floor(Date.now() / 1000);
  // LSO PATs live 200 years (api_token_ttl_days 73000).
  return signJwt(
    {
      token_type: 'refresh',
      exp: iat + 73_000 * 86_400,
      iat,
      jti: randomUUID().replace(/-/g, ''),
      user_id: 1,
    },
    ctx.jwtSecret,
  );
}

const cookie = (headers: Record<string, string | string[] | undefined>, name: string): string | null =>
  new RegExp(`(?:^|;\\s*)${name}=([^;]+)`).exec(String(headers.cookie ?? ''))?.[1] ?? null;

/** Django's login form: a csrftoken cookie that the POST must echo as csrfmiddlewaretoken. */
function loginRoutes(ctx: SimContext): Route[] {
  const form = (csrf: string): SimResponse => ({
    status: 200,
    text: `<form method="post"><input type="hidden" name="csrfmiddlewaretoken" value="${csrf}"><input name="email"><input name="password" type="password"></form>`,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'set-cookie': `csrftoken=${csrf}; Path=/; SameSite=Lax`,
    },
  });
  return [
    route('GET', '/user/login/', 'none', (req) =>
      form(cookie(req.headers, 'csrftoken') ?? randomUUID().replace(/-/g, '')),
    ),
    route('POST', '/user/login/', 'none', (req): SimResponse => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const csrf = cookie(req.headers, 'csrftoken');
      if (!csrf || body.csrfmiddlewaretoken !== csrf)
        return {
          status: 403,
          text: '<h1>Forbidden (403)</h1><p>CSRF verification failed. Request aborted.</p>',
          headers: { 'content-type': 'text/html' },
        };
      const user = ctx.state.users.find((u) => u.email === body.email);
      if (!user || body.password !== ctx.adminPassword) return form(csrf);
      return {
        status: 302,
        headers: {
          location: '/projects/',
          'set-cookie': `sessionid=${ctx.state.createSession()}; HttpOnly; Path=/; SameSite=Lax`,
        },
      };
    }),
  ];
}

export function authRoutes(ctx: SimContext): Route[] {
  const { state } = ctx;
  const routes = [
    route('GET', '/health/', 'none', () => ({ status: 200, json: { status: 'UP' } })),
    route('GET', '/api/version', 'none', () => ({
      status: 200,
      json: {
        release: ctx.version,
        'label-studio-os-package': {
          version: ctx.version,
          short_version: ctx.version.split('.').slice(0, 2).join('.'),
          latest_version_from_pypi: ctx.version,
        },
        'label-studio-os-backend': { message: 'simulator', commit: 'simulator' },
        'label-studio-frontend': { message: 'simulator', commit: 'simulator' },
        dm2: { message: 'simulator', commit: 'simulator' },
        'label-studio-converter': { version: '0.0.59' },
        edition: ctx.edition,
      },
    })),
    route('GET', '/api/current-user/whoami', 'required', (req) => {
      const user = state.users.find((u) => u.id === req.userId)!;
      return {
        status: 200,
        json: {
          ...user,
          avatar: null,
          initials: `${user.first_name[0] ?? ''}${user.last_name[0] ?? ''}`.toLowerCase(),
          active_organization: 1,
          active_organization_meta: { title: 'Simulated organization', email: user.email },
          date_joined: '2024-01-01T00:00:00Z',
          last_activity: new Date().toISOString(),
          allow_newsletters: false,
          phone: '',
          custom_hotkeys: {},
        },
      };
    }),
    route('GET', '/api/current-user/token', 'required', () => ({
      status: 200,
      json: { token: ctx.legacyToken },
    })),
    ...loginRoutes(ctx),
  ];
  if (!ctx.modern) return routes; // 1.7: no Personal Access Tokens, so none of these routes exist
  return [
    ...routes,
    route('POST', '/api/token/refresh', 'none', (req) => {
      const refresh = (req.body as { refresh?: unknown } | undefined)?.refresh;
      if (typeof refresh !== 'string') throw validationError({ refresh: ['This field is required.'] });
      const claims = verifyJwt(refresh, ctx.jwtSecret);
      if (
        claims?.token_type !== 'refresh' ||
        typeof claims.exp !== 'number' ||
        claims.exp * 1000 <= Date.now() ||
        !state.settings.apiTokensEnabled
      ) {
        throw new HttpError(401, TOKEN_INVALID);
      }
      state.stats.tokenRefreshes += 1;
      const iat = Math.floor(Date.now() / 1000);
      const access = signJwt(
        {
          token_type: 'access',
          exp: iat + ctx.accessTtlSeconds,
          iat,
          jti: randomUUID().replace(/-/g, ''),
          user_id: claims.user_id,
          ep: state.accessEpoch,
        },
        ctx.jwtSecret,
      );
      return { status: 200, json: { access } };
    }),
    route('GET', '/api/token/', 'required', () => ({ status: 200, json: [] })),
    route('POST', '/api/token/', 'required', () => {
      if (state.patIssued)
        throw new HttpError(
          409,
          'You already have a valid token. Please revoke it before creating a new one.',
        );
      state.patIssued = true;
      return { status: 201, json: { token: issuePersonalAccessToken(ctx) } };
    }),
    route('GET', '/api/jwt/settings/', 'required', () => ({
      status: 200,
      json: {
        api_tokens_enabled: state.settings.apiTokensEnabled,
        legacy_api_tokens_enabled: state.settings.legacyApiTokensEnabled,
      },
    })),
    route('POST', '/api/jwt/settings/', 'required', (req) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (typeof body.api_tokens_enabled === 'boolean')
        state.settings.apiTokensEnabled = body.api_tokens_enabled;
      if (typeof body.legacy_api_tokens_enabled === 'boolean')
        state.settings.legacyApiTokensEnabled = body.legacy_api_tokens_enabled;
      return {
        status: 200,
        json: {
          api_tokens_enabled: state.settings.apiTokensEnabled,
          legacy_api_tokens_enabled: state.settings.legacyApiTokensEnabled,
        },
      };
    }),
  ];
}
