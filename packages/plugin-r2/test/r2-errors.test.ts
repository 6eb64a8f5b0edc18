import { describe, expect, it } from 'vitest';
import { mapS3Error, R2_RETRY_AFTER_SECONDS } from '../src/index.js';

const s3 = (name: string, status?: number): Error =>
  Object.assign(new Error(name), {
    name,
    $metadata: status === undefined ? {} : { httpStatusCode: status, requestId: 'req-1' },
  });

describe('mapS3Error', () => {
  it.each([
    ['NoSuchKey', s3('NoSuchKey', 404), 'STORAGE_OBJECT_NOT_FOUND'],
    ['HEAD 404 NotFound', s3('NotFound', 404), 'STORAGE_OBJECT_NOT_FOUND'],
    ['NoSuchBucket', s3('NoSuchBucket', 404), 'PLUGIN_UNAVAILABLE'],
    ['SignatureDoesNotMatch', s3('SignatureDoesNotMatch', 403), 'PLUGIN_UNAVAILABLE'],
    ['InternalError 500', s3('InternalError', 500), 'R2_UNAVAILABLE'],
    ['ServiceUnavailable 503', s3('ServiceUnavailable', 503), 'R2_UNAVAILABLE'],
    ['TooManyRequests 429 after retries', s3('TooManyRequests', 429), 'R2_UNAVAILABLE'],
    [
      'ECONNREFUSED',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      'R2_UNAVAILABLE',
    ],
    [
      'ECONNRESET wrapped',
      Object.assign(new Error('wrapped'), {
        cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      }),
      'R2_UNAVAILABLE',
    ],
    ['socket hang up', new Error('socket hang up'), 'R2_UNAVAILABLE'],
    ['TimeoutError', Object.assign(new Error('timed out'), { name: 'TimeoutError' }), 'R2_UNAVAILABLE'],
    ['EntityTooLarge 400', s3('EntityTooLarge', 400), 'INTERNAL_ERROR'],
  ])('%s → %s', (_label, error, code) => {
    const mapped = mapS3Error(error, 'get', 'a/b.jpg');
    expect(mapped.code).toBe(code);
    if (code === 'R2_UNAVAILABLE') {
      expect(mapped.status).toBe(503);
      expect(mapped.retryable).toBe(true);
      expect(mapped.retryAfterSeconds).toBe(R2_RETRY_AFTER_SECONDS);
    }
    if (code === 'PLUGIN_UNAVAILABLE') expect(mapped.retryable).toBe(false);
  });

  it('keeps only safe facts in details', () => {
    const mapped = mapS3Error(s3('InternalError', 500), 'list');
    expect(mapped.details).toEqual({
      operation: 'list',
      s3Code: 'InternalError',
      httpStatus: 500,
      requestId: 'req-1',
    });
    expect(mapped.message).not.toMatch(/InternalError/);
  });

  it('does not map a 404 to not-found when there is no key (list)', () => {
    expect(mapS3Error(s3('NoSuchBucket', 404), 'list').code).toBe('PLUGIN_UNAVAILABLE');
  });
});
