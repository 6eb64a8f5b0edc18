import type { Principal } from '../schemas/domain.js';
import type { PluginDefinition, PluginInstance } from '../plugin.js';

/**
 * Auth contract 1.0: turns an incoming request into a principal. The host asks each enabled auth
 * instance in order; the first non-null answer wins.
 */
export interface AuthRequest {
  method: string;
  path: string;
  /** Lower-cased header names. */
  headers: Readonly<Record<string, string | undefined>>;
  cookies: Readonly<Record<string, string | undefined>>;
  ip?: string;
}

export interface AuthCapabilities {
  /** Which credential this plugin understands, e.g. ["bearer"], ["session-cookie"]. */
  credentials: string[];
  /** Whether the plugin offers an interactive sign-in (password, OIDC redirect). */
  interactiveSignIn: boolean;
}

export interface AuthInstance extends PluginInstance {
  /**
   * Null: the request carries no credential this plugin handles (the host tries the next one).
   * Throws UNAUTHENTICATED: the credential is this plugin's kind but invalid (revoked, expired, unknown).
   */
  authenticate(request: AuthRequest): Promise<Principal | null>;
}

export type AuthPluginDefinition<Config = unknown> = PluginDefinition<
  'auth',
  Config,
  AuthInstance,
  AuthCapabilities
>;
