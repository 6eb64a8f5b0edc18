/** diagnose(): each check names what failed and how to fix it (reference §2.5, §9, §13). */
import {
  type BackendDiagnosis,
  type DiagnosticCategory,
  type DiagnosticCheck,
  isLabelerError,
  LabelerError,
} from '@labeler/core';
import type { LabelStudioClient } from './http.js';
import { versionSchema, whoamiSchema } from './schemas.js';
import { lsPath } from './routes.js';

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const fixOf = (error: unknown): string | undefined =>
  isLabelerError(error) && typeof error.details.fix === 'string' ? error.details.fix : undefined;

export async function checkVersion(
  client: LabelStudioClient,
): Promise<{ version: string | null; edition: string | null }> {
  const body = await client.request('GET', lsPath('version'), versionSchema, { auth: false });
  return {
    version: body.release ?? body['label-studio-os-package']?.version ?? null,
    edition: body.edition ?? null,
  };
}

export async function checkWhoami(client: LabelStudioClient): Promise<BackendDiagnosis['user']> {
  const me = await client.request('GET', lsPath('whoami'), whoamiSchema);
  return {
    id: me.id,
    ...(me.email ? { email: me.email } : {}),
    ...(me.username ? { username: me.username } : {}),
  };
}

async function localFileChecks(client: LabelStudioClient, documentRoot: string): Promise<DiagnosticCheck[]> {
  const checks: DiagnosticCheck[] = [];
  const probe = await client
    .send('GET', lsPath('localFilesData'), { query: { d: '.labeler-probe/missing.png' } })
    .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
  if (probe instanceof Error) {
    checks.push({
      id: 'local-files-serving',
      ok: false,
      message: `Could not probe local-files serving: ${probe.message}`,
    });
  } else if (probe.status === 403 && /LOCAL_FILES_SERVING_ENABLED/.test(probe.text)) {
    checks.push({
      id: 'local-files-serving',
      ok: false,
      message: 'Label Studio does not serve local files (LOCAL_FILES_SERVING_ENABLED is off).',
      fix: 'Start Label Studio with LOCAL_FILES_SERVING_ENABLED=true and LOCAL_FILES_DOCUMENT_ROOT set to the mounted data directory.',
    });
  } else if (probe.status === 403) {
    // 1.x-era view: only a browser session is authenticated, so a token-only probe cannot prove more.
    checks.push({
      id: 'local-files-serving',
      ok: true,
      message:
        'Local-files serving is on; this Label Studio version serves files only to a logged-in browser session, so file access is checked per storage.',
    });
  } else {
    checks.push({
      id: 'local-files-serving',
      ok: true,
      message: `Local-files serving is on (probe answered ${probe.status}).`,
    });
  }
  try {
    await client.request('POST', lsPath('localFilesStorageValidate'), null, {
      body: { path: documentRoot },
      idempotent: true,
    });
    checks.push({
      id: 'document-root',
      ok: true,
      message: `${documentRoot} is inside Label Studio's LOCAL_FILES_DOCUMENT_ROOT and exists.`,
    });
  } catch (error) {
    const errors =
      isLabelerError(error) && Array.isArray(error.details.errors) ? error.details.errors.map(String) : [];
    const onlyProject = errors.length > 0 && errors.every((e) => e.startsWith('project'));
    // Label Studio refuses its root itself ("must be a child"), naming the root it has: that it names
    // ours proves documentRoot right.
    const named = /LOCAL_FILES_DOCUMENT_ROOT=(\S+?)(?: and|,|$)/.exec(errors.join(' '))?.[1];
    const trim = (p: string) => p.replace(/\/+$/, '');
    if (named !== undefined && trim(named) === trim(documentRoot)) {
      checks.push({
        id: 'document-root',
        ok: true,
        message: `${documentRoot} is Label Studio's LOCAL_FILES_DOCUMENT_ROOT (storages go in folders inside it).`,
      });
      return checks;
    }
    checks.push(
      onlyProject
        ? {
            id: 'document-root',
            ok: true,
            message:
              'This Label Studio version validates storage paths only per project; checked when a storage is set up.',
          }
        : {
            id: 'document-root',
            ok: false,
            message: `Label Studio rejected documentRoot ${documentRoot}: ${errors.join('; ') || messageOf(error)}`,
            fix: "Set documentRoot to Label Studio's LOCAL_FILES_DOCUMENT_ROOT as seen inside the Label Studio container, and make sure the directory exists there.",
          },
    );
  }
  return checks;
}

/** The contract's category of each of this plugin's check ids. */
const CATEGORY: Record<string, DiagnosticCategory> = {
  reachable: 'connection',
  'token-format': 'credentials',
  credentials: 'credentials',
  'legacy-tokens-disabled': 'credentials',
  'api-route': 'api',
};

export async function diagnose(client: LabelStudioClient): Promise<BackendDiagnosis> {
  const out = await runChecks(client);
  for (const check of out.checks) check.category ??= CATEGORY[check.id] ?? 'configuration';
  return out;
}

async function runChecks(client: LabelStudioClient): Promise<BackendDiagnosis> {
  const checks: DiagnosticCheck[] = [];
  const tokenKind = client.token.kind === 'legacy' ? 'legacy' : 'personal_access_token';
  const out: BackendDiagnosis = { ok: false, version: null, edition: null, user: null, tokenKind, checks };

  checks.push(
    client.token.problem
      ? { id: 'token-format', ok: false, message: client.token.problem, fix: client.token.problem }
      : {
          id: 'token-format',
          ok: true,
          message:
            tokenKind === 'legacy'
              ? 'Legacy token (sent as "Token <key>").'
              : 'Personal Access Token (exchanged for short-lived access tokens).',
        },
  );
  try {
    Object.assign(out, await checkVersion(client));
    checks.push({
      id: 'reachable',
      ok: true,
      message:
        `Label Studio ${out.version ?? '(unknown version)'} ${out.edition ?? ''} at ${client.baseUrl}.`.trim(),
    });
  } catch (error) {
    checks.push({
      id: 'reachable',
      ok: false,
      message: messageOf(error),
      fix: `Check that url (${client.baseUrl}) is Label Studio's base URL, that it is running, and that the Labeler server can reach it.`,
    });
    return out;
  }
  if (out.edition && out.edition !== 'Community') {
    checks.push({
      id: 'edition',
      ok: true,
      message: `${out.edition} edition: imports are asynchronous and are polled until done.`,
    });
  }
  try {
    out.user = await checkWhoami(client);
    checks.push({
      id: 'credentials',
      ok: true,
      message: `Authenticated as ${out.user?.email ?? out.user?.username ?? out.user?.id}.`,
    });
  } catch (error) {
    const legacyOff =
      isLabelerError(error) &&
      /legacy token authentication has been disabled/i.test(String(error.details.detail ?? ''));
    // A route Label Studio lacks says nothing about the token: never report it as a credentials failure.
    if (isLabelerError(error) && error.code === 'BACKEND_NOT_FOUND') {
      checks.push({
        id: 'api-route',
        ok: false,
        message: error.message,
        fix: `Point url at Label Studio's base URL (not a sub-path or another service) and use a supported Label Studio version (1.7.3 or later).`,
      });
      out.ok = false;
      return out;
    }
    checks.push({
      id: legacyOff ? 'legacy-tokens-disabled' : 'credentials',
      ok: false,
      message: legacyOff
        ? 'This organization has legacy tokens disabled, so the configured legacy token is refused.'
        : messageOf(error),
      fix: fixOf(error) ?? (error instanceof LabelerError ? error.message : undefined),
    });
  }
  const prefix = client.config.localFilesPrefix;
  if (!/\?d=$/.test(prefix)) {
    checks.push({
      id: 'local-files-prefix',
      ok: false,
      message: `localFilesPrefix "${prefix}" does not end with "?d=".`,
      fix: 'Use the default "/data/local-files/?d=" (paths relative to the document root, forward slashes).',
    });
  }
  if (client.config.documentRoot && checks.every((c) => c.ok))
    checks.push(...(await localFileChecks(client, client.config.documentRoot)));
  out.ok = checks.every((c) => c.ok);
  return out;
}
