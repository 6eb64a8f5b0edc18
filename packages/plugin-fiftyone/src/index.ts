/**
 * @labeler/plugin-fiftyone — FiftyOne-style dataset connector: on-disk formats, Label Studio label
 * conversions, path mapping, preflight and push/pull/sync orchestration over the core contracts.
 */
export {
  fiftyOneConnectorPlugin,
  createFiftyOneConnector,
  fiftyOneConfigSchema,
  SUPPORTED_FORMATS,
  type FiftyOneConfig,
} from './plugin.js';
export {
  labelsToLsResults,
  lsResultsToLabels,
  lsResultSchema,
  LS_TO_NAME,
  type LsResult,
  type ImageDims,
  type ConversionOptions,
  type FromLsOptions,
  lsBrushEncode,
  lsBrushDecode,
  lsBrushToRleMask,
  rleMaskToLsBrush,
  binaryToRleMask,
  rleMaskToBinary,
  cocoRleToString,
  cocoRleFromString,
} from './conversions/index.js';
export { detectFormat, FORMAT_HANDLERS, yoloLabelPath, type FormatHandler } from './formats/index.js';
export {
  toLocalFilesUrl,
  fromLocalFilesUrl,
  lsPathOf,
  isUnder,
  mountConfigSchema,
  PathMappingError,
  type MountConfig,
  type PathMappingReason,
} from './path-mapping.js';
export {
  preflight,
  assertPreflight,
  PREFLIGHT_CODES,
  type PreflightCode,
  type PreflightIssue,
  type PreflightReport,
  type PreflightInput,
} from './preflight.js';
export {
  push,
  pull,
  syncToDisk,
  undoSync,
  buildTask,
  mergeField,
  taskSampleId,
  type PushOptions,
  type PushReport,
  type PushProgress,
  type PullOptions,
  type PullReport,
  type UploadStrategy,
  type AnnotatorPolicy,
} from './workflow.js';
export type { UndoResult } from './label-writes.js';
export { diffLabels } from './diff.js';
export { parseLabelConfig } from './label-config.js';
export { stableId } from './ids.js';
export { readImageSize } from './image-size.js';
