import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';

/** S3 and R2 limits: every part but the last at least 5 MiB, at most 10,000 parts. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;

export interface StreamUploadParams {
  Bucket: string;
  Key: string;
  ContentType?: string | undefined;
  Metadata?: Record<string, string> | undefined;
}

export interface StreamUploadOptions {
  /** Size of every part but the last (R2 wants them equal). */
  partSize: number;
  /**
   * Part buffers, each either filling from the body or uploading: with 2, one part uploads while the next
   * fills, and both upload at once while the body waits. Memory is buffers × partSize, whatever the size.
   */
  buffers: number;
}

/** A failure of the body being uploaded (the caller's stream), as opposed to one of S3. */
export class BodyStreamError extends Error {
  constructor(readonly original: unknown) {
    super('The body stream failed', { cause: original });
    this.name = 'BodyStreamError';
  }
}

/**
 * Streams a body to one object: a single PutObject when it fits in one part, else a multipart upload.
 *
 * Memory is fixed: `buffers` part buffers, allocated once per upload and reused for every part (the body's
 * chunks are copied in, so they die young). Nothing is concatenated per part, so a multi-gigabyte upload
 * leaves no trail of part-sized garbage for the GC and the allocator to catch up with, and the body is
 * never held whole: when every buffer is uploading, reading the body waits (backpressure). A failed part
 * aborts the multipart upload; a failed body is rethrown as BodyStreamError. Part retries are the
 * client's (its retry strategy resends the same buffer).
 */
export async function uploadStream(
  client: S3Client,
  params: StreamUploadParams,
  body: AsyncIterable<Uint8Array | string>,
  options: StreamUploadOptions,
): Promise<{ size: number; etag: string | undefined }> {
  const { partSize, buffers } = options;
  if (!Number.isInteger(partSize) || partSize < MIN_PART_SIZE)
    throw new RangeError(`partSize must be an integer of at least ${MIN_PART_SIZE} bytes`);
  if (!Number.isInteger(buffers) || buffers < 1) throw new RangeError('buffers must be at least 1');
  const { Bucket, Key } = params;
  const free: Buffer[] = [];
  const inFlight = new Set<Promise<void>>();
  const parts: CompletedPart[] = [];
  // An object, so the checks below are not narrowed away (the part tasks set it asynchronously).
  const state: { failure: { error: unknown } | null } = { failure: null };
  let uploadId: string | undefined;
  let partNumber = 0;
  let current: Buffer | null = null;
  let allocated = 0;
  let filled = 0;
  let size = 0;

  /** A free part buffer: a new one up to `buffers`, else the next one an upload gives back. */
  const takeBuffer = async (): Promise<Buffer> => {
    while (!free.length && allocated >= buffers && inFlight.size && !state.failure)
      await Promise.race(inFlight);
    if (state.failure) throw state.failure.error;
    const reused = free.pop();
    if (reused) return reused;
    allocated++;
    return Buffer.allocUnsafeSlow(partSize);
  };

  const sendPart = async (data: Buffer, length: number): Promise<void> => {
    if (state.failure) throw state.failure.error;
    if (uploadId === undefined) {
      const created = await client.send(new CreateMultipartUploadCommand(params));
      if (!created.UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
      uploadId = created.UploadId;
    }
    const number = ++partNumber;
    if (number > MAX_PARTS)
      throw new RangeError(
        `The body is larger than ${MAX_PARTS} parts of ${partSize} bytes (the multipart upload limit).`,
      );
    const task: Promise<void> = client
      .send(
        new UploadPartCommand({
          Bucket,
          Key,
          UploadId: uploadId,
          PartNumber: number,
          Body: length === data.length ? data : data.subarray(0, length),
          ContentLength: length,
        }),
      )
      .then(
        (out) => {
          parts.push({ PartNumber: number, ETag: out.ETag });
          free.push(data);
        },
        (error: unknown) => {
          state.failure ??= { error };
        },
      )
      .finally(() => {
        inFlight.delete(task);
      });
    inFlight.add(task);
  };

  const chunks = body[Symbol.asyncIterator]();
  let bodyDone = false;
  try {
    for (;;) {
      let next: IteratorResult<Uint8Array | string>;
      try {
        next = await chunks.next();
      } catch (error) {
        bodyDone = true;
        throw new BodyStreamError(error);
      }
      if (next.done) {
        bodyDone = true;
        break;
      }
      const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      size += chunk.byteLength;
      let offset = 0;
      while (offset < chunk.byteLength) {
        // A full buffer is sent only once more bytes arrive: a body of exactly one part stays a PutObject.
        if (current && filled === partSize) {
          await sendPart(current, filled);
          current = null;
          filled = 0;
        }
        current ??= await takeBuffer();
        const n = Math.min(partSize - filled, chunk.byteLength - offset);
        if (Buffer.isBuffer(chunk)) chunk.copy(current, filled, offset, offset + n);
        else current.set(chunk.subarray(offset, offset + n), filled);
        filled += n;
        offset += n;
      }
      if (state.failure) throw state.failure.error;
    }

    if (uploadId === undefined) {
      const data = current ? current.subarray(0, filled) : Buffer.alloc(0);
      const out = await client.send(
        new PutObjectCommand({ ...params, Body: data, ContentLength: data.length }),
      );
      return { size, etag: out.ETag };
    }
    if (current && filled > 0) await sendPart(current, filled);
    while (inFlight.size) await Promise.race(inFlight);
    if (state.failure) throw state.failure.error;
    parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    const out = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    return { size, etag: out.ETag };
  } catch (error) {
    // Stops the body (a Readable is destroyed), so its producer is not left waiting.
    if (!bodyDone) await Promise.resolve(chunks.return?.()).catch(() => undefined);
    await Promise.allSettled([...inFlight]);
    if (uploadId !== undefined)
      await client
        .send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId }))
        .catch(() => undefined);
    throw error;
  }
}
