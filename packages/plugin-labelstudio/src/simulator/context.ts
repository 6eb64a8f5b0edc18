/** Shared simulator context handed to every route module. */
import type { SimulatorState } from './state.js';

export interface SimulatorOptions {
  /**
   * Reported in `/api/version` and error envelopes, and decides version-specific behaviour: below 1.17
   * (e.g. "1.7.3", the real server the contract suite runs against) there are no Personal Access Tokens,
   * no project title filter, and local files serve only to sessions. Default "1.19.0".
   */
  version?: string;
  /** Default "Community" (synchronous import). */
  edition?: 'Community' | 'Enterprise';
  /** The 40-hex legacy token; generated when omitted. */
  legacyToken?: string;
  /** False mimics an organisation created after Oct 2025 (legacy tokens off). Default true. */
  legacyTokensEnabled?: boolean;
  /** Lifetime of access JWTs from `/api/token/refresh`. Default 300 s (simplejwt default). */
  accessTokenTtlSeconds?: number;
  /** `TASK_API_PAGE_SIZE_MAX`: cap on `/api/tasks` page_size. Default 100. */
  taskPageSizeMax?: number;
  /** Lists tasks in a fixed pseudo-random order instead of by id (clients must map by meta, not order). */
  shuffleTaskOrder?: boolean;
  /** Enforce the `(title, created_by)` uniqueness that makes LS answer 422. Default false (duplicates allowed). */
  uniqueTitles?: boolean;
  localFiles?: {
    /** LOCAL_FILES_SERVING_ENABLED. Default false, as in LS. */
    servingEnabled?: boolean;
    /** LOCAL_FILES_DOCUMENT_ROOT: a real directory on this machine. Default: a fresh temp directory. */
    documentRoot?: string;
    /** Newer DRF view accepts API tokens; false = 1.7-era view (session only, token-only → 403). Default true. */
    acceptTokenAuth?: boolean;
  };
  /** WEBHOOK_TIMEOUT in ms. Default 1000. */
  webhookTimeoutMs?: number;
  /** Password of the admin user for the `/user/login/` form. Default "simulator-password". */
  adminPassword?: string;
  /**
   * Emulates Label Studio on SQLite: one write at a time; a write that finds the database locked waits
   * like `DatabaseIsLockedRetryMiddleware` (retryBaseMs, ×1.5 per retry, 15 retries, then a 500).
   * Off by default.
   */
  sqliteLocking?: { writeMs?: number; retryBaseMs?: number };
  port?: number;
}

export interface SimContext {
  state: SimulatorState;
  version: string;
  edition: 'Community' | 'Enterprise';
  legacyToken: string;
  jwtSecret: string;
  accessTtlSeconds: number;
  taskPageSizeMax: number;
  shuffle: boolean;
  uniqueTitles: boolean;
  localFiles: { servingEnabled: boolean; documentRoot: string; acceptTokenAuth: boolean };
  webhookTimeoutMs: number;
  adminPassword: string;
  /** Label Studio ≥ 1.17 behaviours (Personal Access Tokens, the project title filter). */
  modern: boolean;
}
