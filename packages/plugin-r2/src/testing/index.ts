/** Test support (`@labeler/plugin-r2/testing`): a SigV4-verifying S3 server for tests and benchmarks. */
export { startS3TestServer, type S3TestServer, type S3TestServerOptions } from './s3-test-server.js';
