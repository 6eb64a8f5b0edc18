import type { DatasetSourceFormat } from '@labeler/core';
import { cocoFormat } from './coco.js';
import { fiftyOneFormat } from './fiftyone.js';
import { fiftyOneImageDetectionFormat } from './fiftyone-image-detection.js';
import { imageFolderFormat } from './imagefolder.js';
import type { FormatHandler } from './types.js';
import { yoloFormat } from './yolo.js';

export * from './types.js';
export { yoloLabelPath } from './yolo.js';

/** Detection order matters: the most specific layouts first (FO-detection and COCO share labels.json). */
export const FORMAT_HANDLERS: readonly FormatHandler[] = [
  fiftyOneFormat,
  cocoFormat,
  fiftyOneImageDetectionFormat,
  yoloFormat,
  imageFolderFormat,
];

export function handlerFor(format: DatasetSourceFormat): FormatHandler {
  const h = FORMAT_HANDLERS.find((f) => f.format === format);
  if (!h) throw new Error(`no handler for format ${format}`);
  return h;
}

/** The format a folder is in, or null when no layout matches. */
export async function detectFormat(dir: string): Promise<DatasetSourceFormat | null> {
  for (const h of FORMAT_HANDLERS) if (await h.detect(dir)) return h.format;
  return null;
}
