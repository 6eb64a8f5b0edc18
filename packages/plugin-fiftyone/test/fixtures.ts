import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import type { DatasetConnectorFixture } from '@labeler/core/testing';

/** A real, decodable RGB PNG of the given size (solid colour), built from bytes. */
export function pngBytes(
  width: number,
  height: number,
  rgb: [number, number, number] = [200, 30, 30],
): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit, truecolour
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => rgb).flat())]);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * A structurally valid baseline JPEG header (SOI, APP0 JFIF, a large APP1 so the size reader has to walk
 * segments, DQT, SOF0 with the size, EOI). No entropy-coded pixels: the connector only ever reads headers.
 */
export function jpegBytes(width: number, height: number): Buffer {
  const seg = (marker: number, data: Buffer) => {
    const head = Buffer.from([0xff, marker, 0, 0]);
    head.writeUInt16BE(data.length + 2, 2);
    return Buffer.concat([head, data]);
  };
  const sof = Buffer.alloc(15);
  sof.writeUInt8(8, 0);
  sof.writeUInt16BE(height, 1);
  sof.writeUInt16BE(width, 3);
  sof.set([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1], 5);
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    seg(0xe0, Buffer.from([0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0])),
    seg(0xe1, Buffer.alloc(3000, 0x41)),
    seg(0xdb, Buffer.concat([Buffer.from([0]), Buffer.alloc(64, 1)])),
    seg(0xc0, sof),
    Buffer.from([0xff, 0xd9]),
  ]);
}

export async function put(path: string, content: string | Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}

export const OIDS = ['5f1a2b3c4d5e6f7a8b9c0d1e', '5f1a2b3c4d5e6f7a8b9c0d1f', '5f1a2b3c4d5e6f7a8b9c0d20'];
export const LABEL_OIDS = [
  '6a000000000000000000000a',
  '6a000000000000000000000b',
  '6a000000000000000000000c',
  '6a000000000000000000000d',
];

export async function fiftyOneFixture(dir: string): Promise<DatasetConnectorFixture> {
  const root = join(dir, 'fo');
  await put(join(root, 'data/a.png'), pngBytes(40, 30));
  await put(join(root, 'data/b.jpg'), jpegBytes(64, 48));
  await put(join(root, 'data/c.png'), pngBytes(10, 10));
  await put(
    join(root, 'metadata.json'),
    JSON.stringify({ name: 'tiny', media_type: 'image', info: { classes: ['car', 'person'] } }),
  );
  const det = (i: number, label: string, box: number[]) => ({
    _id: { $oid: LABEL_OIDS[i] },
    _cls: 'Detection',
    attributes: {},
    tags: [],
    label,
    bounding_box: box,
    iscrowd: 0,
  });
  await put(
    join(root, 'samples.json'),
    JSON.stringify({
      samples: [
        {
          _id: { $oid: OIDS[0] },
          filepath: 'data/a.png',
          tags: ['train'],
          metadata: { _cls: 'ImageMetadata', width: 40, height: 30 },
          ground_truth: {
            _cls: 'Detections',
            detections: [det(0, 'car', [0.1, 0.2, 0.3, 0.4]), det(1, 'person', [0.5, 0.5, 0.2, 0.2])],
          },
          weather: { _id: { $oid: LABEL_OIDS[2] }, _cls: 'Classification', label: 'sunny', tags: [] },
          _rand: 0.4,
        },
        {
          _id: { $oid: OIDS[1] },
          filepath: 'data/b.jpg',
          tags: [],
          metadata: null,
          ground_truth: { _cls: 'Detections', detections: [det(3, 'car', [0, 0, 1, 1])] },
        },
        { filepath: 'data/c.png', tags: [], ground_truth: null },
      ],
    }),
  );
  return {
    source: { path: root, format: 'fiftyone' },
    expectedSampleCount: 3,
    expectedClasses: ['car', 'person'],
  };
}

export async function fiftyOneDetectionFixture(dir: string): Promise<DatasetConnectorFixture> {
  const root = join(dir, 'fodet');
  await put(join(root, 'data/img1.png'), pngBytes(20, 20));
  await put(join(root, 'data/img2.jpg'), jpegBytes(32, 16));
  await put(
    join(root, 'labels.json'),
    JSON.stringify({
      classes: ['cat', 'dog'],
      labels: {
        img1: [
          { label: 0, bounding_box: [0.1, 0.1, 0.5, 0.5], confidence: 0.9 },
          { label: 1, bounding_box: [0.6, 0.6, 0.2, 0.2] },
        ],
        img2: null,
      },
    }),
  );
  return {
    source: { path: root, format: 'fiftyone-image-detection' },
    expectedSampleCount: 2,
    expectedClasses: ['cat', 'dog'],
  };
}

export async function cocoFixture(dir: string): Promise<DatasetConnectorFixture> {
  const root = join(dir, 'coco');
  await put(join(root, 'data/one.png'), pngBytes(100, 50));
  await put(join(root, 'data/two.jpg'), jpegBytes(200, 100));
  await put(
    join(root, 'labels.json'),
    JSON.stringify({
      info: { description: 'tiny coco' },
      licenses: [],
      categories: [
        { id: 1, name: 'car', supercategory: 'vehicle' },
        { id: 3, name: 'tree' },
      ],
      images: [
        { id: 10, file_name: 'one.png', width: 100, height: 50 },
        { id: 11, file_name: 'two.jpg', width: 200, height: 100 },
      ],
      annotations: [
        {
          id: 1,
          image_id: 10,
          category_id: 1,
          bbox: [10, 5, 20, 10],
          segmentation: [[10, 5, 30, 5, 30, 15, 10, 15]],
          area: 200,
          iscrowd: 0,
        },
        {
          id: 2,
          image_id: 10,
          category_id: 3,
          bbox: [50, 0, 50, 50],
          segmentation: { size: [50, 100], counts: [2500, 2500] },
          area: 2500,
          iscrowd: 1,
          score: 0.5,
        },
        {
          id: 7,
          image_id: 11,
          category_id: 3,
          bbox: [0, 0, 2, 2],
          segmentation: { size: [100, 200], counts: '02100' },
          area: 4,
          iscrowd: 1,
        },
      ],
    }),
  );
  return { source: { path: root, format: 'coco' }, expectedSampleCount: 2, expectedClasses: ['car', 'tree'] };
}

export async function yoloFixture(dir: string): Promise<DatasetConnectorFixture> {
  const root = join(dir, 'yolo');
  await put(
    join(root, 'data.yaml'),
    'path: .\ntrain: ./images/train/\nval: ./images/val/\nnames:\n  0: person\n  1: bike\n',
  );
  await put(join(root, 'images/train/p1.png'), pngBytes(64, 32));
  await put(join(root, 'images/train/p2.jpg'), jpegBytes(50, 50));
  await put(join(root, 'images/val/v1.png'), pngBytes(8, 8));
  await put(join(root, 'labels/train/p1.txt'), '0 0.5 0.5 0.25 0.5\n1 0.25 0.25 0.1 0.1 0.8\n');
  await put(join(root, 'labels/val/v1.txt'), '1 0.1 0.1 0.9 0.1 0.5 0.9\n');
  return {
    source: { path: root, format: 'yolo' },
    expectedSampleCount: 3,
    expectedClasses: ['person', 'bike'],
  };
}

export async function imageFolderFixture(dir: string): Promise<DatasetConnectorFixture> {
  const root = join(dir, 'folder');
  await put(join(root, 'cat/c1.png'), pngBytes(4, 4));
  await put(join(root, 'cat/c2.png'), pngBytes(4, 4));
  await put(join(root, 'dog/d1.jpg'), jpegBytes(4, 4));
  return {
    source: { path: root, format: 'imagefolder' },
    expectedSampleCount: 3,
    expectedClasses: ['cat', 'dog'],
  };
}
