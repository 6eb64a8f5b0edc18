import type { DatasetInfo, DatasetSource, DatasetSourceFormat, Sample } from '@labeler/core';

/** One file change a label write makes; `content: null` deletes the file (e.g. a YOLO txt left empty). */
export interface FileWrite {
  path: string;
  /** New content; null deletes the file (after a backup). Ignored when copyFrom is set. */
  content: string | null;
  /** Copy this file's bytes to `path` instead (e.g. moving an image to another class folder). */
  copyFrom?: string;
}

export interface ReadOptions {
  /** Read width/height from image headers when the format does not store them (default true). */
  probeImageSize?: boolean;
}

export interface WriteDatasetOptions {
  classes?: string[];
}

/**
 * What every on-disk format implements. Label writes are split into "plan" (pure: which files get which
 * content) and "apply" (generic: backups, atomic writes), so dry runs and undo behave the same for all
 * formats.
 */
export interface FormatHandler {
  readonly format: DatasetSourceFormat;
  /** Whether label ids survive a write and re-read (formats without an id slot derive them). */
  readonly preservesLabelIds: boolean;
  /** Label fields the format stores, given the source's main label field. */
  storedFields(labelField: string): string[];
  detect(dir: string): Promise<boolean>;
  readInfo(source: DatasetSource): Promise<DatasetInfo>;
  readSamples(source: DatasetSource, options?: ReadOptions): AsyncGenerator<Sample>;
  /** Files to rewrite so that the changed samples (full new label state) are persisted. */
  planLabelWrites(source: DatasetSource, changed: ReadonlyMap<string, Sample>): Promise<FileWrite[]>;
  writeDataset(
    target: DatasetSource,
    samples: AsyncIterable<Sample>,
    options?: WriteDatasetOptions,
  ): Promise<{ samples: number; files: string[] }>;
}

export const DEFAULT_LABEL_FIELD = 'ground_truth';

export function labelFieldOf(source: DatasetSource): string {
  return source.labelField ?? DEFAULT_LABEL_FIELD;
}
