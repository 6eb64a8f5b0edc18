import {
  type DatasetConnectorInstance,
  type DatasetSourceFormat,
  definePlugin,
  healthy,
  type Sample,
} from '@labeler/core';
import { z } from 'zod';
import { detectFormat, FORMAT_HANDLERS, handlerFor } from './formats/index.js';
import { DEFAULT_LABEL_FIELD } from './formats/types.js';
import { writeLabelsWith } from './label-writes.js';
import { mountConfigSchema } from './path-mapping.js';

export const fiftyOneConfigSchema = z.object({
  /** Host ↔ Label Studio path mapping used by push and preflight (optional for pure disk work). */
  mount: mountConfigSchema.optional(),
  default_label_field: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/)
    .default(DEFAULT_LABEL_FIELD),
  /** Read width/height from image headers for formats that do not store them. */
  probe_image_size: z.boolean().default(true),
});
export type FiftyOneConfig = z.output<typeof fiftyOneConfigSchema>;

export const SUPPORTED_FORMATS: DatasetSourceFormat[] = FORMAT_HANDLERS.map((h) => h.format);

/** The connector instance: a thin dispatcher to the per-format handlers. */
export function createFiftyOneConnector(
  config: Partial<FiftyOneConfig> = {},
): DatasetConnectorInstance & { readonly config: FiftyOneConfig } {
  const cfg = fiftyOneConfigSchema.parse(config);
  const withField = <T extends { labelField?: string }>(s: T): T => ({
    ...s,
    labelField: s.labelField ?? cfg.default_label_field,
  });
  return {
    config: cfg,
    detectFormat: (path) => detectFormat(path),
    readInfo: (source) => handlerFor(source.format).readInfo(withField(source)),
    readSamples: (source): AsyncIterable<Sample> =>
      handlerFor(source.format).readSamples(withField(source), { probeImageSize: cfg.probe_image_size }),
    writeLabels: (source, updates, options) =>
      writeLabelsWith(handlerFor(source.format), withField(source), updates, options),
    writeDataset: (target, samples, options) => {
      const iterable = (async function* () {
        yield* samples;
      })();
      return handlerFor(target.format).writeDataset(withField(target), iterable, options);
    },
    async health() {
      return healthy(`FiftyOne connector ready: ${SUPPORTED_FORMATS.join(', ')}`, {
        formats: SUPPORTED_FORMATS,
        mountConfigured: cfg.mount !== undefined,
      });
    },
    async dispose() {},
  };
}

export const fiftyOneConnectorPlugin = definePlugin({
  id: 'fiftyone',
  kind: 'dataset-connector',
  contractVersion: '1.0',
  displayName: 'FiftyOne datasets',
  description:
    'Reads and writes FiftyOne, FiftyOne image-detection, COCO, YOLO v5/v8 and image-folder datasets on disk, and maps their files to Label Studio local-files URLs.',
  configSchema: fiftyOneConfigSchema as z.ZodType<FiftyOneConfig>,
  capabilities: { formats: SUPPORTED_FORMATS, write: true },
  async create(_ctx, config) {
    return createFiftyOneConnector(config);
  },
});
