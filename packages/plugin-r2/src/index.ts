/** Cloudflare R2 / S3-compatible storage plugin (`@labeler/plugin-r2`). */
export { r2StoragePlugin, r2Capabilities, type R2Capabilities } from './plugin.js';
export {
  r2ConfigSchema,
  resolveR2Config,
  type R2Config,
  type R2ConfigInput,
  type ResolvedR2Config,
} from './config.js';
export { R2Storage, type R2StorageInstance, PART_SIZE } from './storage.js';
export {
  BodyStreamError,
  MAX_PARTS,
  MIN_PART_SIZE,
  type StreamUploadOptions,
  type StreamUploadParams,
  uploadStream,
} from './multipart.js';
export { mapS3Error, R2_RETRY_AFTER_SECONDS } from './errors.js';
export { createS3Client } from './client.js';
export { addBucketPathWithoutTrailingSlash, BUCKET_PATH_MIDDLEWARE_NAME } from './bucket-path-middleware.js';
