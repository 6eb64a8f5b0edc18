import { PNG } from 'pngjs';

/** The shapes `labeler demo` draws; each is a class of the demo datasets. */
export const DEMO_CLASSES = ['circle', 'square', 'triangle'] as const;
export type DemoShape = (typeof DEMO_CLASSES)[number];

export interface DrawnShape {
  shape: DemoShape;
  /** Relative [top-left x, top-left y, width, height] of the painted pixels (core's bounding_box). */
  box: [number, number, number, number];
}

type Rgb = [number, number, number];
const COLORS: Record<DemoShape, Rgb> = {
  circle: [220, 50, 47],
  square: [38, 139, 210],
  triangle: [133, 153, 0],
};

/** mulberry32: the same seed draws the same images, so a re-run uploads byte-identical files. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function inside(shape: DemoShape, px: number, py: number, x: number, y: number, size: number): boolean {
  const u = px + 0.5 - x;
  const v = py + 0.5 - y;
  if (u < 0 || v < 0 || u > size || v > size) return false;
  if (shape === 'square') return true;
  if (shape === 'circle') return (u - size / 2) ** 2 + (v - size / 2) ** 2 <= (size / 2) ** 2;
  // Triangle with its apex at the top middle and its base on the bottom edge.
  return Math.abs(u - size / 2) <= v / 2;
}

/**
 * A PNG of `shapes` (each in its own column, so boxes never overlap) on a light grey background. Each box
 * is measured from the pixels actually painted, so labels match the image exactly.
 */
export function drawShapesPng(
  width: number,
  height: number,
  shapes: DemoShape[],
  random: () => number,
): { png: Buffer; drawn: DrawnShape[] } {
  const png = new PNG({ width, height });
  const shade = 225 + Math.floor(random() * 25);
  for (let i = 0; i < width * height; i++) png.data.set([shade, shade, shade, 255], i * 4);
  const column = Math.floor(width / Math.max(1, shapes.length));
  const drawn: DrawnShape[] = [];
  shapes.forEach((shape, index) => {
    const size = Math.floor(Math.min(column, height) * (0.45 + random() * 0.4));
    const x = index * column + Math.floor(random() * (column - size));
    const y = Math.floor(random() * (height - size));
    let [minX, minY, maxX, maxY] = [width, height, -1, -1];
    for (let py = y; py < y + size; py++) {
      for (let px = x; px < x + size; px++) {
        if (!inside(shape, px, py, x, y, size)) continue;
        png.data.set([...COLORS[shape], 255], (py * width + px) * 4);
        minX = Math.min(minX, px);
        minY = Math.min(minY, py);
        maxX = Math.max(maxX, px);
        maxY = Math.max(maxY, py);
      }
    }
    drawn.push({
      shape,
      box: [minX / width, minY / height, (maxX - minX + 1) / width, (maxY - minY + 1) / height],
    });
  });
  return { png: PNG.sync.write(png), drawn };
}
