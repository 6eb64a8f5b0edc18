import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  binaryToRleMask,
  cocoRleFromString,
  cocoRleToString,
  lsBrushDecode,
  lsBrushEncode,
  rleArea,
  rleMaskToBinary,
} from '../src/conversions/rle.js';

describe('Label Studio brush RLE', () => {
  it('encodes a single value exactly like label_studio_converter.encode_rle', () => {
    // 32-bit length 1, word size 8-1 (5 bits), run sizes 3,4,8,16 minus 1 (4 bits each),
    // then "0 00 000 00000101" and 5 bits of zero padding.
    expect(lsBrushEncode(new Uint8Array([5]))).toEqual([0, 0, 0, 1, 57, 27, 248, 0, 160]);
  });

  it('round-trips arbitrary arrays, including runs longer than 65536', () => {
    const runs = fc.array(
      fc.tuple(
        fc.integer({ min: 0, max: 255 }),
        fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 200, max: 70_000 })),
      ),
      { maxLength: 12 },
    );
    fc.assert(
      fc.property(runs, (rs) => {
        const arr = new Uint8Array(rs.reduce((n, [, len]) => n + len, 0));
        let p = 0;
        for (const [v, len] of rs) {
          arr.fill(v, p, p + len);
          p += len;
        }
        expect(lsBrushDecode(lsBrushEncode(arr))).toEqual(arr);
      }),
      { numRuns: 60 },
    );
  });
});

describe('COCO RLE', () => {
  it('binary mask ↔ column-major counts', () => {
    // 2×3 mask, rows: [1,0,1],[1,1,0] → column-major 1,1,0,1,1,0 → counts [0,2,1,2,1]
    const m = binaryToRleMask(new Uint8Array([1, 0, 1, 1, 1, 0]), 2, 3);
    expect(m).toEqual({ size: [2, 3], counts: [0, 2, 1, 2, 1] });
    expect(rleArea(m)).toBe(4);
    expect(Array.from(rleMaskToBinary(m))).toEqual([1, 0, 1, 1, 1, 0]);
  });

  it('compressed string round-trips counts (pycocotools rleToString)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5_000_000 }), { maxLength: 40 }), (counts) => {
        expect(cocoRleFromString(cocoRleToString(counts))).toEqual(counts);
      }),
    );
    // Worked by hand from maskApi.c: counts 0,2,1 as-is ('0','2','1'); from the 4th on, the delta to the
    // count two back: 2-2=0 → '0', 1-1=0 → '0'. Negative deltas set the 0x10 sign bit: 1 then 0 → -1 → 'O'.
    expect(cocoRleToString([0, 2, 1, 2, 1])).toBe('02100');
    expect(cocoRleToString([0, 2, 1, 1])).toBe('021O');
    expect(cocoRleFromString('021O')).toEqual([0, 2, 1, 1]);
  });
});
