import type { Sample } from '../schemas/domain.js';
import type { LabelValue } from '../schemas/labels.js';
import type { PluginDefinition, PluginInstance } from '../plugin.js';

/**
 * Dataset-connector contract 1.0: reads samples and labels from a dataset source (a folder on disk in a
 * known format) and writes labels back. Reading streams samples; image bytes are never loaded.
 * Conformance: `runDatasetConnectorConformance`.
 */
export type DatasetSourceFormat = 'fiftyone' | 'fiftyone-image-detection' | 'coco' | 'yolo' | 'imagefolder';

export interface DatasetConnectorCapabilities {
  formats: DatasetSourceFormat[];
  write: boolean;
}

export interface DatasetSource {
  /** Folder (or for COCO, the folder holding images and the annotation file). */
  path: string;
  format: DatasetSourceFormat;
  /** Label field the format's labels land in (default "ground_truth"). */
  labelField?: string;
}

export interface DatasetInfo {
  format: DatasetSourceFormat;
  name: string | null;
  classes: string[];
  sampleCount: number;
}

export interface SampleLabelsUpdate {
  sampleId: string;
  /** New value per label field; null removes the field's labels. */
  labels: Record<string, LabelValue | null>;
}

export interface SampleDiff {
  sampleId: string;
  filepath: string;
  added: number;
  updated: number;
  removed: number;
  lines: string[];
}

export interface WriteLabelsOptions {
  dryRun?: boolean;
  /** Keep a `.bak` copy of each file replaced (default true). */
  backup?: boolean;
}

export interface WriteLabelsReport {
  dryRun: boolean;
  changedSamples: number;
  diffs: SampleDiff[];
  /** Files written (empty on dry runs). */
  filesWritten: string[];
  /** Backups made, for undo. */
  backups: string[];
}

export interface DatasetConnectorInstance extends PluginInstance {
  detectFormat(path: string): Promise<DatasetSourceFormat | null>;
  readInfo(source: DatasetSource): Promise<DatasetInfo>;
  readSamples(source: DatasetSource): AsyncIterable<Sample>;
  writeLabels(
    source: DatasetSource,
    updates: Iterable<SampleLabelsUpdate> | AsyncIterable<SampleLabelsUpdate>,
    options?: WriteLabelsOptions,
  ): Promise<WriteLabelsReport>;
  /** Writes a whole dataset in a format (export). */
  writeDataset(
    target: DatasetSource,
    samples: Iterable<Sample> | AsyncIterable<Sample>,
    options?: { classes?: string[] },
  ): Promise<{ samples: number; files: string[] }>;
}

export type DatasetConnectorPluginDefinition<Config = unknown> = PluginDefinition<
  'dataset-connector',
  Config,
  DatasetConnectorInstance,
  DatasetConnectorCapabilities
>;
