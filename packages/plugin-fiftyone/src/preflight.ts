import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type AnnotationBackendInstance,
  isLabelerError,
  LabelerError,
  type LabelSchema,
  type Sample,
} from '@labeler/core';
import { classLabelsOf } from './formats/common.js';
import { CONTROL_TAGS, parseLabelConfig } from './label-config.js';
import {
  fromLocalFilesUrl,
  isUnder,
  lsPathOf,
  type MountConfig,
  PathMappingError,
  toLocalFilesUrl,
} from './path-mapping.js';

/**
 * Everything that would make a push produce broken tasks, checked before anything is uploaded. Each
 * problem names what is wrong and how to fix it, so an operator can act without reading code.
 */
export const PREFLIGHT_CODES = [
  'HOST_ROOT_MISMATCH',
  'FILE_MISSING',
  'PATH_OUTSIDE_DOCUMENT_ROOT',
  'MAPPING_ROUND_TRIP_FAILED',
  'NO_COVERING_STORAGE',
  'LABEL_NOT_IN_CONFIG',
  'BACKEND_UNREACHABLE',
  'BACKEND_AUTH_FAILED',
  'PROJECT_NOT_FOUND',
] as const;
export type PreflightCode = (typeof PREFLIGHT_CODES)[number];

export interface PreflightIssue {
  code: PreflightCode;
  sampleId?: string;
  message: string;
  fix: string;
}

export interface PreflightReport {
  ok: boolean;
  checkedSamples: number;
  issues: PreflightIssue[];
  /** Issues per code, including those beyond `maxIssuesPerCode`. */
  counts: Partial<Record<PreflightCode, number>>;
}

export interface PreflightInput {
  samples: Iterable<Sample> | AsyncIterable<Sample>;
  mount: MountConfig;
  schema: LabelSchema;
  backend: AnnotationBackendInstance;
  projectExternalId: string;
  /** Cap on reported issues per code (the count keeps going); default 50. */
  maxIssuesPerCode?: number;
}

const FIX: Record<PreflightCode, string> = {
  HOST_ROOT_MISMATCH:
    'Set mount.host_root to the directory that holds the dataset files (the one mounted into Label Studio).',
  FILE_MISSING:
    'Restore the file or remove the sample from the push; Label Studio would show a broken image.',
  PATH_OUTSIDE_DOCUMENT_ROOT:
    "Mount the files under Label Studio's LOCAL_FILES_DOCUMENT_ROOT, or fix mount.ls_document_root / mount.ls_mount_path.",
  MAPPING_ROUND_TRIP_FAILED:
    'Check mount.local_files_prefix and the roots: the URL does not map back to the same file.',
  NO_COVERING_STORAGE:
    "Add a local-files source storage whose path contains the files' directory (Label Studio answers 404 otherwise).",
  LABEL_NOT_IN_CONFIG: "Add the class to the project's label config, or map/rename the label before pushing.",
  BACKEND_UNREACHABLE:
    'Check the Label Studio URL and that the server is running and reachable from Labeler.',
  BACKEND_AUTH_FAILED:
    'Use a valid API token (legacy token or personal access token) for the Label Studio instance.',
  PROJECT_NOT_FOUND: 'Create the project first (ensureProject) or fix the recorded project id.',
};

export async function preflight(input: PreflightInput): Promise<PreflightReport> {
  const max = input.maxIssuesPerCode ?? 50;
  const report: PreflightReport = { ok: true, checkedSamples: 0, issues: [], counts: {} };
  const add = (code: PreflightCode, message: string, sampleId?: string) => {
    report.ok = false;
    report.counts[code] = (report.counts[code] ?? 0) + 1;
    if (report.counts[code]! <= max)
      report.issues.push({ code, ...(sampleId === undefined ? {} : { sampleId }), message, fix: FIX[code] });
  };

  // 1. The backend: reachable, token valid, project present. Without it the project checks are skipped.
  const backendOk = await checkBackend(input.backend, add);
  let config: ReturnType<typeof parseLabelConfig> | null = null;
  let storagePaths: string[] | null = null;
  if (backendOk) {
    const project = await input.backend.getProject(input.projectExternalId);
    if (!project)
      add(
        'PROJECT_NOT_FOUND',
        `Project ${input.projectExternalId} does not exist in the annotation backend.`,
      );
    else {
      config = parseLabelConfig(project.labelConfig);
      for (const control of input.schema.controls) {
        const c = config.get(control.name);
        if (!c || c.tag.toLowerCase() !== CONTROL_TAGS[control.type].toLowerCase()) {
          add(
            'LABEL_NOT_IN_CONFIG',
            `The project's label config has no ${CONTROL_TAGS[control.type]} control named "${control.name}".`,
          );
        }
      }
      const storages = await input.backend.listStorages(input.projectExternalId);
      storagePaths = storages
        .filter((s) => s.type === 'local-files' && s.role === 'source' && s.path)
        .map((s) => s.path!);
      if (storagePaths.length === 0)
        add(
          'NO_COVERING_STORAGE',
          `Project ${input.projectExternalId} has no local-files source storage, so Label Studio will not serve any local file.`,
        );
    }
  }

  // 2. The host root itself.
  let hostRootOk = true;
  try {
    hostRootOk = (await stat(input.mount.host_root)).isDirectory();
  } catch {
    hostRootOk = false;
  }
  if (!hostRootOk)
    add('HOST_ROOT_MISMATCH', `mount.host_root ${input.mount.host_root} is not a directory on this machine.`);

  // 3. Every sample: file, mapping, storage coverage, labels.
  for await (const sample of input.samples) {
    report.checkedSamples++;
    const id = sample.id;
    try {
      const s = await stat(sample.filepath);
      if (!s.isFile()) add('FILE_MISSING', `${sample.filepath} is not a file.`, id);
    } catch {
      add('FILE_MISSING', `${sample.filepath} does not exist.`, id);
    }
    try {
      const url = toLocalFilesUrl(sample.filepath, input.mount);
      const back = fromLocalFilesUrl(url, input.mount);
      if (back !== sample.filepath)
        add('MAPPING_ROUND_TRIP_FAILED', `${sample.filepath} → ${url} → ${back}`, id);
      if (storagePaths && storagePaths.length > 0) {
        const dir = dirname(lsPathOf(sample.filepath, input.mount));
        if (!storagePaths.some((p) => isUnder(dir, p))) {
          add(
            'NO_COVERING_STORAGE',
            `No local-files storage covers ${dir} (storages: ${storagePaths.join(', ')}).`,
            id,
          );
        }
      }
    } catch (error) {
      if (error instanceof PathMappingError) {
        add(
          error.reason === 'outside_document_root' ? 'PATH_OUTSIDE_DOCUMENT_ROOT' : 'HOST_ROOT_MISMATCH',
          error.message,
          id,
        );
      } else throw error;
    }
    if (config) {
      for (const control of input.schema.controls) {
        const c = config.get(control.name);
        if (!c) continue; // reported once above
        for (const label of new Set(classLabelsOf(sample.labels[control.name]))) {
          if (!c.values.has(label))
            add(
              'LABEL_NOT_IN_CONFIG',
              `Label "${label}" (field ${control.name}) is not a class of control "${control.name}" in the project's label config.`,
              id,
            );
        }
      }
    }
  }
  return report;
}

async function checkBackend(
  backend: AnnotationBackendInstance,
  add: (code: PreflightCode, message: string) => void,
): Promise<boolean> {
  try {
    const d = await backend.diagnose();
    if (d.ok) return true;
    const failed = d.checks.filter((c) => !c.ok);
    // By the check's category (backends without categories: by its id). A missing API route or an
    // unreachable server is never reported as a refused token.
    const auth = failed.find((c) =>
      c.category ? c.category === 'credentials' : /auth|token|credential/i.test(c.id),
    );
    if (auth)
      add(
        'BACKEND_AUTH_FAILED',
        `Label Studio answered but rejected the token: ${auth.message}${auth.fix ? ` Fix: ${auth.fix}` : ''}`,
      );
    else
      add(
        'BACKEND_UNREACHABLE',
        `Label Studio is not usable: ${failed.map((c) => c.message).join('; ') || 'diagnosis failed'}`,
      );
    return false;
  } catch (error) {
    const code =
      isLabelerError(error) && error.code === 'BACKEND_AUTH_FAILED'
        ? 'BACKEND_AUTH_FAILED'
        : 'BACKEND_UNREACHABLE';
    add(code, `Label Studio diagnosis failed: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  }
}

/** Throws PREFLIGHT_FAILED carrying the issues when the report is not clean. */
export function assertPreflight(report: PreflightReport): void {
  if (report.ok) return;
  const summary = Object.entries(report.counts)
    .map(([code, n]) => `${code}×${n}`)
    .join(', ');
  throw new LabelerError(
    'PREFLIGHT_FAILED',
    `Preflight found problems (${summary}); fix them before pushing.`,
    { details: { counts: report.counts, issues: report.issues } },
  );
}
