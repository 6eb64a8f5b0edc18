import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { isLabelerError } from '@labeler/core';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { PART_SIZE } from '../src/index.js';
import { startS3TestServer } from '../src/testing/index.js';
import { createR2, recordingLogger } from './helpers.js';

const server = await startS3TestServer();
afterAll(() => server.close());

async function codeOf(promise: Promise<unknown>): Promise<{ code: string; retryable?: boolean }> {
  try {
    await promise;
    return { code: 'no error' };
  } catch (error) {
    if (!isLabelerError(error)) throw error;
    return { code: error.code, retryable: error.retryable };
  }
}

describe('r2 presigned URLs on a SigV4-verifying server', () => {
  it('refuses a tampered signature, a tampered key and a changed expiry with 403', async () => {
    const storage = await createR2(server.pluginConfig);
    await storage.put('presign/a.txt', 'alpha');
    await storage.put('presign/b.txt', 'bravo');
    const { url } = await storage.presignGet('presign/a.txt', { expiresInSeconds: 60 });
    expect(await (await fetch(url)).text()).toBe('alpha');

    const badSig = new URL(url);
    const sig = badSig.searchParams.get('X-Amz-Signature')!;
    badSig.searchParams.set('X-Amz-Signature', (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1));
    const res1 = await fetch(badSig);
    expect(res1.status).toBe(403);
    expect(await res1.text()).toContain('SignatureDoesNotMatch');

    const res2 = await fetch(url.replace('/presign/a.txt', '/presign/b.txt'));
    expect(res2.status).toBe(403);
    expect(await res2.text()).not.toContain('bravo');

    const longer = new URL(url);
    longer.searchParams.set('X-Amz-Expires', '604800');
    expect((await fetch(longer)).status).toBe(403);
    await storage.dispose();
  });

  it('refuses an expired GET and PUT URL with 403', async () => {
    const storage = await createR2(server.pluginConfig);
    await storage.put('presign/exp.txt', 'old');
    const get = await storage.presignGet('presign/exp.txt', { expiresInSeconds: 1 });
    const put = await storage.presignPut('presign/exp.txt', { expiresInSeconds: 1 });
    await new Promise((resolve) => setTimeout(resolve, 2_200));
    const res = await fetch(get.url);
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/expired/i);
    expect((await fetch(put.url, { method: 'PUT', body: 'new' })).status).toBe(403);
    expect(Buffer.concat(await (await storage.get('presign/exp.txt')).body.toArray()).toString()).toBe('old');
    await storage.dispose();
  });

  it('signs no checksum into a presigned PUT (R2 would reject the real upload)', async () => {
    const storage = await createR2(server.pluginConfig);
    const { url } = await storage.presignPut('presign/ck.bin', {
      expiresInSeconds: 60,
      contentType: 'image/png',
    });
    expect(url.toLowerCase()).not.toContain('checksum');
    const res = await fetch(url, {
      method: 'PUT',
      body: 'png-ish',
      headers: { 'Content-Type': 'image/png' },
    });
    expect(res.status).toBe(200);
    expect(await storage.head('presign/ck.bin')).toMatchObject({ size: 7, contentType: 'image/png' });
    await storage.dispose();
  });
});

describe('r2 large objects and listings', () => {
  it('round-trips a 12.5 MiB streamed body through multipart upload byte-identically', async () => {
    const storage = await createR2(server.pluginConfig);
    const size = 12 * 1024 * 1024 + 512 * 1024;
    expect(size).toBeGreaterThan(PART_SIZE);
    const source = createHash('sha256');
    let produced = 0;
    async function* body(): AsyncGenerator<Buffer> {
      while (produced < size) {
        const chunk = randomBytes(Math.min(1024 * 1024, size - produced));
        produced += chunk.length;
        source.update(chunk);
        yield chunk;
      }
    }
    const send = vi.spyOn(S3Client.prototype, 'send');
    const info = await storage.put('big/multipart.bin', Readable.from(body()), {
      contentType: 'application/octet-stream',
    });
    const commands = send.mock.calls.map(([command]) => command.constructor.name);
    send.mockRestore();
    expect(info.size).toBe(size);
    // Parts of PART_SIZE (5 MiB): the body was never held whole.
    expect(commands).toEqual([
      'CreateMultipartUploadCommand',
      'UploadPartCommand',
      'UploadPartCommand',
      'UploadPartCommand',
      'CompleteMultipartUploadCommand',
    ]);
    const got = await storage.get('big/multipart.bin');
    expect(got.size).toBe(size);
    const received = createHash('sha256');
    for await (const chunk of got.body) received.update(chunk as Buffer);
    expect(received.digest('hex')).toBe(source.digest('hex'));
    await storage.delete('big/multipart.bin');
    await storage.dispose();
  });

  it('lists 1,050 keys past the 1,000-key page, each exactly once and in order', {
    timeout: 120_000,
  }, async () => {
    const storage = await createR2(server.pluginConfig);
    const keys = Array.from({ length: 1_050 }, (_, i) => `many/${String(i).padStart(5, '0')}.txt`);
    for (let i = 0; i < keys.length; i += 50)
      await Promise.all(keys.slice(i, i + 50).map((key) => storage.put(key, key)));
    const seen: string[] = [];
    const pageSizes: number[] = [];
    let cursor: string | null = null;
    do {
      const page = await storage.list({ prefix: 'many/', ...(cursor ? { cursor } : {}) });
      pageSizes.push(page.items.length);
      seen.push(...page.items.map((item) => item.key));
      cursor = page.nextCursor;
    } while (cursor);
    expect(pageSizes).toEqual([1_000, 50]);
    expect(seen).toEqual(keys);
    expect(new Set(seen).size).toBe(1_050);
    await storage.dispose();
  });
});

describe('r2 failed uploads', () => {
  it('reports the caller stream error and keeps the previous object', async () => {
    const storage = await createR2(server.pluginConfig);
    await storage.put('fail/a.bin', 'original');
    async function* failing(): AsyncGenerator<Buffer> {
      yield randomBytes(1024);
      throw new Error('client went away');
    }
    await expect(storage.put('fail/a.bin', failing())).rejects.toThrow('client went away');
    expect(Buffer.concat(await (await storage.get('fail/a.bin')).body.toArray()).toString()).toBe('original');
    await storage.dispose();
  });

  it('refuses a body whose length differs from contentLength and keeps nothing', async () => {
    const storage = await createR2(server.pluginConfig);
    expect(
      await codeOf(storage.put('fail/len.bin', Readable.from([Buffer.from('abc')]), { contentLength: 4 })),
    ).toEqual({
      code: 'VALIDATION_ERROR',
      retryable: false,
    });
    expect(await storage.head('fail/len.bin')).toBeNull();
    await storage.dispose();
  });
});

describe('r2 authentication against the test server', () => {
  it('needs the bucket-path option for listings on s3rver; the fix keeps SigV4 verification', async () => {
    const without = await createR2({ ...server.pluginConfig, bucketPathWithoutTrailingSlash: false });
    expect(await codeOf(without.list({ prefix: 'x/' }))).toEqual({
      code: 'PLUGIN_UNAVAILABLE',
      retryable: false,
    });
    await without.dispose();

    const wrongSecret = await createR2({ ...server.pluginConfig, secretAccessKey: 'definitely-wrong' });
    expect(await codeOf(wrongSecret.list({ prefix: 'x/' }))).toEqual({
      code: 'PLUGIN_UNAVAILABLE',
      retryable: false,
    });
    expect(await codeOf(wrongSecret.put('x/y.txt', 'y'))).toEqual({
      code: 'PLUGIN_UNAVAILABLE',
      retryable: false,
    });
    expect((await wrongSecret.health()).status).toBe('unhealthy');
    await wrongSecret.dispose();
  });

  it('never logs or returns the secret access key', async () => {
    const logger = recordingLogger();
    const secret = server.secretAccessKey;
    const storage = await createR2({ ...server.pluginConfig, secretAccessKey: `${secret}-wrong` }, logger);
    const report = await storage.health();
    let thrown: unknown;
    try {
      await storage.get('x/y');
    } catch (error) {
      thrown = error;
    }
    expect(isLabelerError(thrown)).toBe(true);
    const everything = JSON.stringify({
      lines: logger.lines,
      report,
      thrown,
      message: String(thrown),
      location: storage.location,
    });
    expect(logger.lines.length).toBeGreaterThan(0);
    expect(everything).not.toContain(secret);
    await storage.dispose();
  });

  it('reports healthy with latency when the bucket is writable, and leaves no probe behind', async () => {
    const storage = await createR2(server.pluginConfig);
    const report = await storage.health();
    expect(report.status).toBe('healthy');
    expect(report.details).toMatchObject({ bucket: server.bucket });
    expect((await storage.list({ prefix: '.labeler-health/' })).items).toEqual([]);
    await storage.dispose();
  });
});
