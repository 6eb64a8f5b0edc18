import { S3Client } from '@aws-sdk/client-s3';
import { addBucketPathWithoutTrailingSlash } from './bucket-path-middleware.js';
import type { ResolvedR2Config } from './config.js';

/** One S3 client per instance; presigning uses the same client (signing is local, no request). */
export function createS3Client(config: ResolvedR2Config): S3Client {
  const client = new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    // SDK >= 3.729 adds CRC32 checksums by default; R2 answers 501 NotImplemented to them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    retryMode: 'standard',
    maxAttempts: config.maxAttempts,
    requestHandler: {
      connectionTimeout: config.connectionTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      throwOnRequestTimeout: true,
      socketTimeout: config.socketTimeoutMs,
    },
    // No logger: the SDK's default logs nothing, so credentials and signed URLs never reach a log.
  });
  if (config.bucketPathWithoutTrailingSlash) addBucketPathWithoutTrailingSlash(client, config.bucket);
  return client;
}
