import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { PART_SIZE } from '../src/index.js';
import { startS3TestServer } from '../src/testing/index.js';
import { createR2 } from './helpers.js';

const server = await startS3TestServer();
afterAll(() => server.close());
afterEach(() => vi.restoreAllMocks());

const MiB = 1024 * 1024;

/** `total` bytes in chunks of `chunk` bytes, hashed as produced. */
function source(total: number, chunk: number, hash = createHash('sha256')) {
  let produced = 0;
  async function* body(): AsyncGenerator<Buffer> {
    while (produced < total) {
      const piece = randomBytes(Math.min(chunk, total - produced));
      produced += piece.length;
      hash.update(piece);
      yield piece;
    }
  }
  return { stream: Readable.from(body()), hash };
}

async function sha256Of(body: AsyncIterable<unknown>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of body) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function commandsSent() {
  const send = vi.spyOn(S3Client.prototype, 'send');
  return () => send.mock.calls.map(([command]) => command.constructor.name);
}

describe('r2 streamed uploads', () => {
  it('a body of exactly one part, or empty, is a single PutObject', async () => {
    const storage = await createR2(server.pluginConfig);
    const sent = commandsSent();
    const one = source(PART_SIZE, 300 * 1024);
    expect((await storage.put('mp/one-part.bin', one.stream)).size).toBe(PART_SIZE);
    expect((await storage.put('mp/empty.bin', Readable.from([]))).size).toBe(0);
    expect(sent()).toEqual(['PutObjectCommand', 'PutObjectCommand']);
    expect(await sha256Of((await storage.get('mp/one-part.bin')).body)).toBe(one.hash.digest('hex'));
    expect((await storage.head('mp/empty.bin'))?.size).toBe(0);
    await storage.dispose();
  });

  it('uploads many parts through a fixed pair of part buffers, byte-identically', {
    timeout: 60_000,
  }, async () => {
    const storage = await createR2(server.pluginConfig);
    const allocations = vi.spyOn(Buffer, 'allocUnsafeSlow');
    const sent = commandsSent();
    const total = 6 * PART_SIZE + 123_457; // 7 parts, the last short
    const body = source(total, 64 * 1024 + 17); // chunks that straddle part boundaries
    const info = await storage.put('mp/many.bin', body.stream, { contentLength: total });
    expect(info.size).toBe(total);
    expect(sent().filter((name) => name === 'UploadPartCommand')).toHaveLength(7);
    expect(allocations.mock.calls.filter(([size]) => size === PART_SIZE)).toHaveLength(2);
    expect(await sha256Of((await storage.get('mp/many.bin')).body)).toBe(body.hash.digest('hex'));
    await storage.dispose();
  });

  it("a failing body is reported as the body's own error and leaves no object or multipart upload", async () => {
    const storage = await createR2(server.pluginConfig);
    const sent = commandsSent();
    async function* failing(): AsyncGenerator<Buffer> {
      yield randomBytes(3 * MiB);
      yield randomBytes(3 * MiB);
      throw new Error('client went away');
    }
    await expect(storage.put('mp/failed.bin', Readable.from(failing()))).rejects.toThrow('client went away');
    expect(sent()).toContain('AbortMultipartUploadCommand');
    expect(await storage.head('mp/failed.bin')).toBeNull();
    await storage.dispose();
  });

  it('a failing part aborts the upload and stops reading the body', async () => {
    const storage = await createR2(server.pluginConfig);
    const original = S3Client.prototype.send;
    vi.spyOn(S3Client.prototype, 'send').mockImplementation(function (this: S3Client, command, ...rest) {
      if (
        command.constructor.name === 'UploadPartCommand' &&
        (command.input as { PartNumber: number }).PartNumber === 2
      )
        return Promise.reject(
          Object.assign(new Error('boom'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } }),
        );
      return (original as (...args: unknown[]) => Promise<unknown>).call(this, command, ...rest);
    } as typeof original);
    let produced = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      for (;;) {
        produced += MiB;
        yield randomBytes(MiB);
      }
    }
    const stream = Readable.from(endless());
    await expect(storage.put('mp/part-fails.bin', stream)).rejects.toMatchObject({ code: 'R2_UNAVAILABLE' });
    expect(stream.destroyed).toBe(true);
    expect(produced).toBeLessThan(6 * PART_SIZE);
    vi.restoreAllMocks();
    expect(await storage.head('mp/part-fails.bin')).toBeNull();
    await storage.dispose();
  });
});
