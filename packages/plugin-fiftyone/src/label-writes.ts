import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type {
  DatasetSource,
  LabelValue,
  Sample,
  SampleLabelsUpdate,
  WriteLabelsOptions,
  WriteLabelsReport,
} from '@labeler/core';
import { canonical, diffLabels } from './diff.js';
import type { FormatHandler } from './formats/types.js';
import { labelFieldOf } from './formats/types.js';
import { backupFile, backupStamp, exists, originalOfBackup, writeFileAtomic } from './fs-safe.js';

/**
 * Writes label updates into a dataset's own files, format-independently:
 * 1. read the current samples and merge each update (fields not named in an update stay as they are);
 * 2. compute per-sample diffs — a dry run stops here and touches nothing;
 * 3. ask the format which files change, back each existing one up as `<file>.<stamp>.bak`, and replace it
 *    atomically (temp file + rename).
 * Fields the format cannot store (e.g. a second field in YOLO) are reported in the diff, never dropped
 * silently.
 */
export async function writeLabelsWith(
  handler: FormatHandler,
  source: DatasetSource,
  updates: Iterable<SampleLabelsUpdate> | AsyncIterable<SampleLabelsUpdate>,
  options: WriteLabelsOptions = {},
): Promise<WriteLabelsReport> {
  const dryRun = options.dryRun ?? false;
  const pending = new Map<string, Record<string, LabelValue | null>>();
  for await (const u of updates) pending.set(u.sampleId, { ...(pending.get(u.sampleId) ?? {}), ...u.labels });

  const stored = handler.storedFields(labelFieldOf(source));
  const changed = new Map<string, Sample>();
  const diffs: WriteLabelsReport['diffs'] = [];
  for await (const sample of handler.readSamples(source, { probeImageSize: false })) {
    const update = pending.get(sample.id);
    if (!update) continue;
    pending.delete(sample.id);
    const ignored: string[] = [];
    const after: Record<string, LabelValue | null> = { ...sample.labels };
    for (const [field, value] of Object.entries(update)) {
      if (stored.length > 0 && !stored.includes(field)) ignored.push(field);
      else after[field] = value;
    }
    const diff = diffLabels(sample.id, sample.filepath, sample.labels, after);
    for (const f of ignored) diff.lines.push(`! ${f}: not stored by the ${handler.format} format; ignored`);
    if (canonical(after) !== canonical(sample.labels)) changed.set(sample.id, { ...sample, labels: after });
    if (diff.lines.length > 0) diffs.push(diff);
  }
  for (const sampleId of pending.keys())
    diffs.push({
      sampleId,
      filepath: '',
      added: 0,
      updated: 0,
      removed: 0,
      lines: ['! sample not found in the dataset; skipped'],
    });

  const report: WriteLabelsReport = {
    dryRun,
    changedSamples: changed.size,
    diffs,
    filesWritten: [],
    backups: [],
  };
  if (dryRun || changed.size === 0) return report;

  const writes = await handler.planLabelWrites(source, changed);
  const stamp = backupStamp();
  for (const w of writes) {
    if (options.backup !== false && (await exists(w.path)))
      report.backups.push(await backupFile(w.path, stamp));
    if (w.copyFrom) await copyFileAtomic(w.copyFrom, w.path);
    else if (w.content === null) await rm(w.path, { force: true });
    else await writeFileAtomic(w.path, w.content);
    report.filesWritten.push(w.path);
  }
  return report;
}

/** Copies via a temp file + rename in the target folder, so a reader never sees a half-written file. */
async function copyFileAtomic(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  const tmp = `${to}.tmp-${process.pid}-${Date.now()}`;
  await copyFile(from, tmp);
  await rename(tmp, to);
}

export interface UndoResult {
  restored: string[];
  removed: string[];
}

/**
 * Restores the files a label write replaced from their backups (atomically, via a temp copy + rename) and,
 * when given the write's `filesWritten`, removes files the write created (those without a backup).
 */
export async function undoSync(
  input: string[] | Pick<WriteLabelsReport, 'backups' | 'filesWritten'>,
): Promise<UndoResult> {
  const backups = Array.isArray(input) ? input : input.backups;
  const written = Array.isArray(input) ? [] : input.filesWritten;
  const result: UndoResult = { restored: [], removed: [] };
  const originals = new Set<string>();
  for (const backup of backups) {
    const original = originalOfBackup(backup);
    if (!original) throw new Error(`not a Labeler backup file name: ${backup}`);
    const tmp = `${original}.undo.tmp`;
    await copyFile(backup, tmp);
    await rename(tmp, original);
    originals.add(original);
    result.restored.push(original);
  }
  for (const file of written) {
    if (originals.has(file)) continue;
    await rm(file, { force: true });
    result.removed.push(file);
  }
  return result;
}
