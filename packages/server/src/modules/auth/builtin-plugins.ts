import {
  type AuthInstance,
  type AuthPluginDefinition,
  type AuthRequest,
  definePlugin,
  healthy,
  LabelerError,
} from '@labeler/core';
import { z } from 'zod';
import { safeEqual } from '../../lib/crypto.js';
import type { ServiceAccountService } from '../service-accounts/service.js';
import { type AdminUserService, SESSION_COOKIE } from './admin-users.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function bearerToken(request: AuthRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) {
    throw new LabelerError(
      'UNAUTHENTICATED',
      'The Authorization header must be "Bearer <service account key>".',
      { details: { reason: 'malformed' } },
    );
  }
  return match[1]!;
}

/** Built-in auth plugin: static scoped service-account keys sent as bearer tokens. */
export function serviceAccountAuthPlugin(
  serviceAccounts: ServiceAccountService,
): AuthPluginDefinition<Record<string, never>> {
  return definePlugin({
    id: 'service-account-key',
    kind: 'auth',
    contractVersion: '1.0',
    displayName: 'Service account keys',
    description:
      'Bearer API keys of service accounts (lbl_sa_…), stored as SHA-256 hashes, with scopes, expiry and rotation.',
    configSchema: z.object({}).strict() as unknown as z.ZodType<Record<string, never>>,
    capabilities: { credentials: ['bearer'], interactiveSignIn: false },
    async create(): Promise<AuthInstance> {
      return {
        async authenticate(request) {
          const token = bearerToken(request);
          return token ? serviceAccounts.authenticate(token) : null;
        },
        health: async () => healthy(),
        dispose: async () => {},
      };
    },
  });
}

/** Built-in auth plugin: console admins with a session cookie; unsafe methods need the CSRF header. */
export function localAdminAuthPlugin(admins: AdminUserService): AuthPluginDefinition<Record<string, never>> {
  return definePlugin({
    id: 'local-admin',
    kind: 'auth',
    contractVersion: '1.0',
    displayName: 'Local admin users',
    description:
      'Email + password (scrypt) admin accounts with HttpOnly SameSite session cookies and CSRF tokens.',
    configSchema: z.object({}).strict() as unknown as z.ZodType<Record<string, never>>,
    capabilities: { credentials: ['session-cookie'], interactiveSignIn: true },
    async create(): Promise<AuthInstance> {
      return {
        async authenticate(request) {
          const token = request.cookies[SESSION_COOKIE];
          if (!token) return null;
          const resolved = await admins.resolveSession(token);
          if (!resolved)
            throw new LabelerError('UNAUTHENTICATED', 'Your session has expired. Sign in again.', {
              details: { reason: 'session_expired' },
            });
          if (!SAFE_METHODS.has(request.method.toUpperCase())) {
            const sent = request.headers['x-csrf-token'] ?? '';
            if (!safeEqual(sent, resolved.session.csrfToken)) {
              throw new LabelerError(
                'CSRF_TOKEN_INVALID',
                'Missing or wrong X-CSRF-Token header. Reload the console and try again.',
              );
            }
          }
          return admins.principalFor(resolved.user);
        },
        health: async () => healthy(),
        dispose: async () => {},
      };
    },
  });
}
