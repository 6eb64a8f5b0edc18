/** Local-disk storage plugin (`@labeler/core/local-disk`). */
export {
  localDiskStoragePlugin,
  localDiskConfigSchema,
  localDiskCapabilities,
  type LocalDiskCapabilities,
  type LocalDiskConfig,
} from './plugin.js';
export {
  LocalDiskStorage,
  type LocalDiskStorageInstance,
  type PresignedRequest,
  type PresignedResponse,
} from './storage.js';
export { LOCAL_STORAGE_ROUTE_PREFIX, PRESIGN_QUERY, parseLocalStoragePath } from './presign.js';
export { RESERVED_DIR } from './paths.js';
