import type { S3Client } from '@aws-sdk/client-s3';

export const BUCKET_PATH_MIDDLEWARE_NAME = 'labelerBucketPathWithoutTrailingSlash';

/**
 * Some S3 servers (notably @20minutes/s3rver) canonicalize a path-style bucket URL as "/bucket", while
 * the SDK sends and signs "/bucket/", so every bucket-level call (ListObjectsV2, CreateBucket,
 * DeleteObjects) fails with SignatureDoesNotMatch. This middleware rewrites the path at the build step,
 * before the signer runs (finalizeRequest): the request is signed exactly as it is sent, so SigV4 is not
 * weakened. Object paths ("/bucket/key") are untouched.
 */
export function addBucketPathWithoutTrailingSlash(client: S3Client, bucket: string): void {
  const bucketRoot = `/${bucket}/`;
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { path?: unknown } | null;
      if (typeof request === 'object' && request !== null && request.path === bucketRoot)
        request.path = bucketRoot.slice(0, -1);
      return next(args);
    },
    { step: 'build', name: BUCKET_PATH_MIDDLEWARE_NAME, priority: 'low' },
  );
}
