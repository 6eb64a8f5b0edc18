/**
 * @labeler/plugin-labelstudio: the Label Studio annotation backend. The simulator lives in the
 * `@labeler/plugin-labelstudio/simulator` subpath (tests and development only).
 */
export { labelStudioPlugin } from './plugin.js';
export { createLabelStudioBackend, type LabelStudioBackend } from './backend.js';
export { labelStudioConfigSchema, type LabelStudioConfig, type LabelStudioConfigInput } from './config.js';
export { LabelStudioClient, type ClientDeps, type RequestOptions } from './http.js';
export { buildLabelConfig, escapeXml, IMAGE_DATA_KEY, IMAGE_OBJECT_NAME } from './label-config.js';
export {
  importSamplesIdempotently,
  type ImportProgress,
  type ImportSamplesOptions,
  type ImportSamplesResult,
} from './importer.js';
export { pickAnnotation } from './pick.js';
export { projectLockKey, withProjectLock } from './lock.js';
export { detectToken, type TokenKind } from './token.js';
export { ANNOTATED_QUERY, MAX_IMPORT_BATCH } from './tasks.js';
export { LS_ROUTES, type LsRouteName, lsPath } from './routes.js';
export { AdaptiveConcurrency, type AdaptiveConcurrencyOptions } from './concurrency.js';
export { hasPersonalAccessTokens } from './versions.js';
export { lsResultsToLabels, type FromLsOptions } from './conversions/from-ls.js';
export {
  fromLocalFilesUrl,
  isUnder,
  lsPathOf,
  type MountConfig,
  mountConfigSchema,
  PathMappingError,
  type PathMappingReason,
  toLocalFilesUrl,
} from './path-mapping.js';
