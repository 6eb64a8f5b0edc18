import type { RleMask } from '@labeler/core';

/**
 * Mask encodings:
 * - core `RleMask`: COCO uncompressed RLE — binary mask, column-major (Fortran order), counts alternate
 *   0-run, 1-run, ... starting with zeros.
 * - COCO compressed RLE: the same counts as pycocotools' LEB128-like string (`rleToString`).
 * - Label Studio brush RLE (`label-studio-converter` `brush.py`, itself the thi.ng `rle-pack` format):
 *   a bit stream over the flattened RGBA image (row-major, height × width × 4).
 */

// ---- binary masks ↔ core RleMask ------------------------------------------------------------------

/** Row-major binary mask (1 byte per pixel, 0/1) from a core RleMask. */
export function rleMaskToBinary(mask: RleMask): Uint8Array {
  const [height, width] = mask.size;
  const out = new Uint8Array(height * width);
  let index = 0; // column-major position
  let value = 0;
  for (const count of mask.counts) {
    if (value === 1) {
      for (let k = index; k < index + count && k < height * width; k++) {
        const col = Math.floor(k / height);
        const row = k - col * height;
        out[row * width + col] = 1;
      }
    }
    index += count;
    value = 1 - value;
  }
  return out;
}

/** Core RleMask from a row-major binary mask (any non-zero byte counts as set). */
export function binaryToRleMask(bits: Uint8Array, height: number, width: number): RleMask {
  const counts: number[] = [];
  let current = 0;
  let run = 0;
  for (let col = 0; col < width; col++) {
    for (let row = 0; row < height; row++) {
      const v = bits[row * width + col] ? 1 : 0;
      if (v === current) run++;
      else {
        counts.push(run);
        current = v;
        run = 1;
      }
    }
  }
  counts.push(run);
  return { size: [height, width], counts };
}

/** Number of set pixels (COCO `area` of a mask). */
export function rleArea(mask: RleMask): number {
  let area = 0;
  for (let i = 1; i < mask.counts.length; i += 2) area += mask.counts[i]!;
  return area;
}

// ---- COCO compressed RLE string (pycocotools maskApi.c rleToString / rleFrString) ----------------

export function cocoRleToString(counts: readonly number[]): string {
  let s = '';
  for (let i = 0; i < counts.length; i++) {
    // Counts after the second are stored as the difference to the count two places back.
    let x = counts[i]!;
    if (i > 2) x -= counts[i - 2]!;
    let more = true;
    while (more) {
      let c = x & 0x1f;
      x = Math.floor(x / 32); // arithmetic shift that also works for negatives
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
    }
  }
  return s;
}

export function cocoRleFromString(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= s.length) throw new Error('truncated compressed RLE string');
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63) throw new Error(`invalid character in compressed RLE at ${p}`);
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x -= 2 ** (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2]!;
    counts.push(x);
  }
  return counts;
}

// ---- Label Studio brush RLE -------------------------------------------------------------------------

class BitWriter {
  private bytes: number[] = [];
  private acc = 0;
  private bits = 0;
  private total = 0;
  write(value: number, width: number): void {
    for (let i = width - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | (Math.floor(value / 2 ** i) & 1);
      this.bits++;
      this.total++;
      if (this.bits === 8) {
        this.bytes.push(this.acc);
        this.acc = 0;
        this.bits = 0;
      }
    }
  }
  get length(): number {
    return this.total;
  }
  finish(): number[] {
    if (this.bits > 0) this.bytes.push(this.acc << (8 - this.bits));
    return this.bytes;
  }
}

class BitReader {
  private pos = 0;
  constructor(private readonly data: readonly number[]) {}
  read(width: number): number {
    let out = 0;
    for (let i = 0; i < width; i++) {
      const byte = this.data[this.pos >> 3];
      if (byte === undefined) throw new Error('brush RLE ended early');
      out = out * 2 + ((byte >> (7 - (this.pos & 7))) & 1);
      this.pos++;
    }
    return out;
  }
}

const RLE_SIZES = [3, 4, 8, 16] as const;

/**
 * Encodes a flattened RGBA array exactly like `label_studio_converter.brush.encode_rle` (word size 8,
 * run-length field sizes 3/4/8/16 bits): single values as `0 00 000 <8 bits>`, runs as `1 <size index>
 * <length-1> <8 bits>`, runs longer than 65536 split. Like the converter, a stream that is already a
 * whole number of bytes still gets one zero byte of padding, so our output matches it byte for byte.
 */
export function lsBrushEncode(values: Uint8Array): number[] {
  const w = new BitWriter();
  w.write(values.length, 32);
  w.write(8 - 1, 5);
  for (const size of RLE_SIZES) w.write(size - 1, 4);
  let i = 0;
  while (i < values.length) {
    const value = values[i]!;
    let j = i + 1;
    while (j < values.length && values[j] === value) j++;
    let length = j - i;
    if (length === 1) {
      w.write(0, 1);
      w.write(0, 2);
      w.write(0, 3);
      w.write(value, 8);
    } else if (length <= 8) writeRun(w, 0, 3, length, value);
    else if (length <= 16) writeRun(w, 1, 4, length, value);
    else if (length <= 256) writeRun(w, 2, 8, length, value);
    else {
      while (length > 2 ** 16) {
        writeRun(w, 3, 16, 2 ** 16, value);
        length -= 2 ** 16;
      }
      writeRun(w, 3, 16, length, value);
    }
    i = j;
  }
  const pad = 8 - (w.length % 8);
  w.write(0, pad);
  return w.finish();
}

function writeRun(w: BitWriter, sizeIndex: number, bits: number, length: number, value: number): void {
  w.write(1, 1);
  w.write(sizeIndex, 2);
  w.write(length - 1, bits);
  w.write(value, 8);
}

/** Decodes Label Studio brush RLE (`decode_rle`) into the flattened array it encodes. */
export function lsBrushDecode(rle: readonly number[]): Uint8Array {
  const r = new BitReader(rle);
  const num = r.read(32);
  const wordSize = r.read(5) + 1;
  const sizes = [r.read(4) + 1, r.read(4) + 1, r.read(4) + 1, r.read(4) + 1];
  const out = new Uint8Array(num);
  let i = 0;
  while (i < num) {
    const isRun = r.read(1);
    const j = Math.min(num, i + 1 + r.read(sizes[r.read(2)]!));
    if (isRun) {
      out.fill(r.read(wordSize), i, j);
      i = j;
    } else {
      for (; i < j; i++) out[i] = r.read(wordSize);
    }
  }
  return out;
}

/**
 * LS brush RLE → core RleMask. The alpha channel is the mask (FiftyOne's rule); any non-zero alpha counts
 * as set because LS paints 255 but anti-aliased edges from other tools may carry smaller values.
 */
export function lsBrushToRleMask(rle: readonly number[], width: number, height: number): RleMask {
  const rgba = lsBrushDecode(rle);
  if (rgba.length !== width * height * 4) {
    throw new Error(
      `brush RLE holds ${rgba.length} values, expected ${width}×${height}×4 = ${width * height * 4}`,
    );
  }
  const bits = new Uint8Array(width * height);
  for (let p = 0; p < bits.length; p++) bits[p] = rgba[p * 4 + 3]! > 0 ? 1 : 0;
  return binaryToRleMask(bits, height, width);
}

/** Core RleMask → LS brush RLE; set pixels become 255 on all four channels (`mask_to_rle` does the same). */
export function rleMaskToLsBrush(mask: RleMask): number[] {
  const bits = rleMaskToBinary(mask);
  const rgba = new Uint8Array(bits.length * 4);
  for (let p = 0; p < bits.length; p++) {
    if (bits[p]) rgba.fill(255, p * 4, p * 4 + 4);
  }
  return lsBrushEncode(rgba);
}
