import { open } from 'node:fs/promises';

export interface ImageSize {
  width: number;
  height: number;
  mimeType: string;
}

/**
 * Reads an image's dimensions from its header only (PNG, JPEG, GIF, WebP, BMP). Datasets can hold
 * millions of images, so loading whole files just to learn width/height (needed for COCO pixels and for
 * Label Studio's original_width/height) would be far too slow. JPEG dimensions sit in the SOF segment,
 * which can follow large EXIF blocks, so JPEG is scanned segment by segment with small reads.
 */
export async function readImageSize(path: string): Promise<ImageSize | null> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(32);
    const { bytesRead } = await handle.read(head, 0, 32, 0);
    const b = head.subarray(0, bytesRead);
    if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.toString('latin1', 12, 16) === 'IHDR') {
      return { width: b.readUInt32BE(16), height: b.readUInt32BE(20), mimeType: 'image/png' };
    }
    if (
      b.length >= 10 &&
      (b.toString('latin1', 0, 6) === 'GIF87a' || b.toString('latin1', 0, 6) === 'GIF89a')
    ) {
      return { width: b.readUInt16LE(6), height: b.readUInt16LE(8), mimeType: 'image/gif' };
    }
    if (b.length >= 26 && b.toString('latin1', 0, 2) === 'BM') {
      return {
        width: Math.abs(b.readInt32LE(18)),
        height: Math.abs(b.readInt32LE(22)),
        mimeType: 'image/bmp',
      };
    }
    if (b.length >= 30 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') {
      return webpSize(b);
    }
    if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8) return await jpegSize(handle);
    return null;
  } finally {
    await handle.close();
  }
}

function webpSize(b: Buffer): ImageSize | null {
  const chunk = b.toString('latin1', 12, 16);
  if (chunk === 'VP8X')
    return { width: 1 + b.readUIntLE(24, 3), height: 1 + b.readUIntLE(27, 3), mimeType: 'image/webp' };
  if (chunk === 'VP8 ')
    return {
      width: b.readUInt16LE(26) & 0x3fff,
      height: b.readUInt16LE(28) & 0x3fff,
      mimeType: 'image/webp',
    };
  if (chunk === 'VP8L') {
    const bits = b.readUInt32LE(21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1, mimeType: 'image/webp' };
  }
  return null;
}

type Handle = Awaited<ReturnType<typeof open>>;

async function jpegSize(handle: Handle): Promise<ImageSize | null> {
  const buf = Buffer.alloc(9);
  let pos = 2;
  // A bounded walk: a corrupt file must not make us loop forever.
  for (let guard = 0; guard < 10_000; guard++) {
    const { bytesRead } = await handle.read(buf, 0, 9, pos);
    if (bytesRead < 4 || buf[0] !== 0xff) return null;
    const marker = buf[1]!;
    if (marker === 0xff) {
      pos += 1; // fill byte
      continue;
    }
    const length = buf.readUInt16BE(2);
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (bytesRead < 9) return null;
      return { height: buf.readUInt16BE(5), width: buf.readUInt16BE(7), mimeType: 'image/jpeg' };
    }
    pos += 2 + length;
  }
  return null;
}
