import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Detections, Sample } from '@labeler/core';
import { hashDatasetTree } from '@labeler/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { createFiftyOneConnector, detectFormat, readImageSize, undoSync } from '../src/index.js';
import {
  cocoFixture,
  fiftyOneDetectionFixture,
  fiftyOneFixture,
  imageFolderFixture,
  jpegBytes,
  LABEL_OIDS,
  OIDS,
  pngBytes,
  put,
  yoloFixture,
} from './fixtures.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fo-formats-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const connector = createFiftyOneConnector();
const read = async (source: Parameters<typeof connector.readSamples>[0]) => {
  const out: Sample[] = [];
  for await (const s of connector.readSamples(source)) out.push(s);
  return out;
};

describe('image headers', () => {
  it('reads PNG and JPEG (past a large APP1) sizes without decoding', async () => {
    await put(join(dir, 'a.png'), pngBytes(33, 17));
    await put(join(dir, 'b.jpg'), jpegBytes(640, 480));
    expect(await readImageSize(join(dir, 'a.png'))).toEqual({ width: 33, height: 17, mimeType: 'image/png' });
    expect(await readImageSize(join(dir, 'b.jpg'))).toEqual({
      width: 640,
      height: 480,
      mimeType: 'image/jpeg',
    });
  });
});

describe('format detection', () => {
  it('tells every layout apart', async () => {
    const fixtures = {
      fiftyone: fiftyOneFixture,
      'fiftyone-image-detection': fiftyOneDetectionFixture,
      coco: cocoFixture,
      yolo: yoloFixture,
      imagefolder: imageFolderFixture,
    };
    for (const [format, build] of Object.entries(fixtures)) {
      const f = await build(dir);
      expect(await detectFormat(f.source.path), format).toBe(format);
    }
    expect(await detectFormat(join(dir, 'nothing-here'))).toBeNull();
  });
});

describe('FiftyOneDataset', () => {
  it('keeps _id.$oid as the sample id and label ids, reads legacy metadata', async () => {
    const f = await fiftyOneFixture(dir);
    const [a, b, c] = await read(f.source);
    expect(a!.id).toBe(OIDS[0]);
    expect(a!.metadata).toEqual({ width: 40, height: 30 });
    expect(b!.metadata).toMatchObject({ width: 64, height: 48, mime_type: 'image/jpeg' }); // probed header
    expect((a!.labels.ground_truth as Detections).detections.map((d) => d.id)).toEqual([
      LABEL_OIDS[0],
      LABEL_OIDS[1],
    ]);
    expect((a!.labels.ground_truth as Detections).detections[0]).toMatchObject({
      iscrowd: false,
      bounding_box: [0.1, 0.2, 0.3, 0.4],
    });
    expect(a!.labels.weather).toMatchObject({ _cls: 'Classification', label: 'sunny', id: LABEL_OIDS[2] });
    expect(c!.id).toMatch(/^[0-9a-f]{24}$/);
    expect(c!.labels.ground_truth).toBeNull();
  });

  it('writeLabels rewrites only label fields and keeps private keys', async () => {
    const f = await fiftyOneFixture(dir);
    await connector.writeLabels(f.source, [{ sampleId: OIDS[0]!, labels: { ground_truth: null } }]);
    const raw = JSON.parse(await readFile(join(f.source.path, 'samples.json'), 'utf8')) as {
      samples: Array<Record<string, unknown>>;
    };
    expect(raw.samples[0]!.ground_truth).toBeNull();
    expect(raw.samples[0]!._rand).toBe(0.4);
    expect(raw.samples[0]!.weather).toMatchObject({ _cls: 'Classification', label: 'sunny' });
  });

  it('a malformed samples.json is DATASET_FORMAT_INVALID naming file and field', async () => {
    const f = await fiftyOneFixture(dir);
    await writeFile(
      join(f.source.path, 'samples.json'),
      JSON.stringify({
        samples: [
          {
            filepath: 'data/a.png',
            ground_truth: {
              _cls: 'Detections',
              detections: [{ _cls: 'Detection', label: 'car', bounding_box: [0.1, 'x', 0, 0] }],
            },
          },
        ],
      }),
    );
    await expect(read(f.source)).rejects.toMatchObject({
      code: 'DATASET_FORMAT_INVALID',
      message: expect.stringMatching(
        /samples\.json: field "samples\.0\.ground_truth\.detections\.0\.bounding_box\.1"/,
      ),
    });
    await writeFile(join(f.source.path, 'samples.json'), '{"samples": [');
    await expect(read(f.source)).rejects.toMatchObject({
      code: 'DATASET_FORMAT_INVALID',
      details: { field: '(root)' },
    });
    await writeFile(join(f.source.path, 'samples.json'), JSON.stringify({ samples: [{ tags: [] }] }));
    await expect(read(f.source)).rejects.toMatchObject({
      code: 'DATASET_FORMAT_INVALID',
      details: { field: 'samples.0.filepath' },
    });
  });
});

describe('COCO', () => {
  it('converts pixels to relative boxes, reads polygon, uncompressed and compressed RLE', async () => {
    const f = await cocoFixture(dir);
    const [one, two] = await read(f.source);
    const dets = (one!.labels.ground_truth as Detections).detections;
    expect(dets[0]).toMatchObject({
      label: 'car',
      bounding_box: [0.1, 0.1, 0.2, 0.2],
      attributes: { coco_id: 1 },
    });
    expect(dets[1]).toMatchObject({
      label: 'tree',
      iscrowd: true,
      confidence: 0.5,
      mask: { size: [50, 100], counts: [2500, 2500] },
    });
    expect(one!.labels.ground_truth_polylines).toMatchObject({
      _cls: 'Polylines',
      polylines: [
        {
          label: 'car',
          closed: true,
          points: [
            [
              [0.1, 0.1],
              [0.3, 0.1],
              [0.3, 0.3],
              [0.1, 0.3],
            ],
          ],
        },
      ],
    });
    expect((two!.labels.ground_truth as Detections).detections[0]!.mask).toEqual({
      size: [100, 200],
      counts: [0, 2, 1, 2, 1],
    });
  });

  it('written labels.json stays valid COCO: unique ids, bbox inside the image, categories known', async () => {
    const f = await cocoFixture(dir);
    const samples = await read(f.source);
    const first = samples[0]!;
    const gt = first.labels.ground_truth as Detections;
    await connector.writeLabels(f.source, [
      {
        sampleId: first.id,
        labels: {
          ground_truth: {
            _cls: 'Detections',
            detections: [
              ...gt.detections,
              { _cls: 'Detection', id: 'new-one', label: 'bus', bounding_box: [0.5, 0.5, 0.25, 0.25] },
            ],
          },
        },
      },
    ]);
    const coco = JSON.parse(await readFile(join(f.source.path, 'labels.json'), 'utf8')) as {
      images: Array<{ id: number; width: number; height: number }>;
      categories: Array<{ id: number; name: string }>;
      annotations: Array<{
        id: number;
        image_id: number;
        category_id: number;
        bbox: number[];
        label_id: string;
      }>;
    };
    const ids = coco.annotations.map((a) => a.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const a of coco.annotations) {
      const im = coco.images.find((i) => i.id === a.image_id)!;
      const [x, y, w, h] = a.bbox as [number, number, number, number];
      expect(x >= 0 && y >= 0 && x + w <= im.width + 1e-9 && y + h <= im.height + 1e-9).toBe(true);
      expect(coco.categories.some((c) => c.id === a.category_id)).toBe(true);
    }
    expect(coco.categories.map((c) => c.name)).toContain('bus');
    const again = await read(f.source);
    expect((again[0]!.labels.ground_truth as Detections).detections.map((d) => d.id)).toContain('new-one');
    // The polygon still belongs to annotation 1 and was written back into it.
    expect(coco.annotations.find((a) => a.id === 1)).toMatchObject({
      segmentation: [[10, 5, 30, 5, 30, 15, 10, 15]],
    });
  });

  it('malformed COCO names the file and field', async () => {
    const f = await cocoFixture(dir);
    const file = join(f.source.path, 'labels.json');
    const coco = JSON.parse(await readFile(file, 'utf8')) as { annotations: Array<Record<string, unknown>> };
    coco.annotations[1]!.bbox = [1, 2, 3];
    await writeFile(file, JSON.stringify(coco));
    await expect(read(f.source)).rejects.toMatchObject({
      code: 'DATASET_FORMAT_INVALID',
      details: { file, field: 'annotations.1.bbox' },
    });
    coco.annotations[1]!.bbox = [1, 2, 3, 4];
    coco.annotations[1]!.category_id = 99;
    await writeFile(file, JSON.stringify(coco));
    await expect(read(f.source)).rejects.toMatchObject({
      code: 'DATASET_FORMAT_INVALID',
      details: { field: 'annotations.1.category_id' },
    });
    coco.annotations[1]!.category_id = 1;
    coco.annotations[1]!.id = 1;
    await writeFile(file, JSON.stringify(coco));
    await expect(read(f.source)).rejects.toMatchObject({
      code: 'DATASET_FORMAT_INVALID',
      details: { field: 'annotations.1.id' },
    });
  });
});

describe('YOLO', () => {
  it('reads centre format, confidence, polygons and splits as tags', async () => {
    const f = await yoloFixture(dir);
    const samples = await read(f.source);
    const p1 = samples.find((s) => s.filepath.endsWith('p1.png'))!;
    expect(p1.tags).toEqual(['train']);
    expect(p1.metadata).toMatchObject({ width: 64, height: 32 });
    const dets = (p1.labels.ground_truth as Detections).detections;
    expect(dets[0]).toMatchObject({ label: 'person', bounding_box: [0.375, 0.25, 0.25, 0.5] });
    expect(dets[1]).toMatchObject({ label: 'bike', confidence: 0.8 });
    const v1 = samples.find((s) => s.filepath.endsWith('v1.png'))!;
    expect(v1.tags).toEqual(['val']);
    expect(v1.labels.ground_truth_polylines).toMatchObject({
      polylines: [
        {
          label: 'bike',
          points: [
            [
              [0.1, 0.1],
              [0.9, 0.1],
              [0.5, 0.9],
            ],
          ],
        },
      ],
    });
    expect(samples.find((s) => s.filepath.endsWith('p2.jpg'))!.labels.ground_truth).toEqual({
      _cls: 'Detections',
      detections: [],
    });
  });

  it('written files stay valid: values in 0–1 (clamped), data.yaml parseable', async () => {
    const f = await yoloFixture(dir);
    const [p1] = await read(f.source);
    await connector.writeLabels(f.source, [
      {
        sampleId: p1!.id,
        labels: {
          ground_truth: {
            _cls: 'Detections',
            detections: [{ _cls: 'Detection', id: 'x', label: 'bike', bounding_box: [-0.1, 0.8, 0.5, 0.5] }],
          },
        },
      },
    ]);
    const rows = (await readFile(join(f.source.path, 'labels/train/p1.txt'), 'utf8')).trim().split('\n');
    expect(rows).toHaveLength(1);
    const nums = rows[0]!.split(' ').map(Number);
    expect(nums[0]).toBe(1);
    for (const v of nums.slice(1)) expect(v >= 0 && v <= 1).toBe(true);
    const exported = join(dir, 'export');
    await connector.writeDataset({ path: exported, format: 'yolo' }, await read(f.source), {
      classes: ['person', 'bike'],
    });
    const yaml = YAML.parse(await readFile(join(exported, 'data.yaml'), 'utf8')) as {
      names: Record<string, string>;
      train: string;
      val: string;
    };
    expect(yaml.names).toEqual({ 0: 'person', 1: 'bike' });
    expect(yaml.train).toBe('./images/train/');
  });

  it('a class index outside names is DATASET_FORMAT_INVALID naming the line', async () => {
    const f = await yoloFixture(dir);
    await writeFile(join(f.source.path, 'labels/train/p1.txt'), '0 0.5 0.5 0.1 0.1\n7 0.5 0.5 0.1 0.1\n');
    await expect(read(f.source)).rejects.toMatchObject({
      code: 'DATASET_FORMAT_INVALID',
      details: { field: 'line 2' },
    });
    await writeFile(join(f.source.path, 'data.yaml'), 'names: 5\n');
    await expect(read(f.source)).rejects.toMatchObject({
      code: 'DATASET_FORMAT_INVALID',
      details: { field: 'names' },
    });
  });
});

describe('FiftyOneImageDetectionDataset', () => {
  it('resolves class indices and null labels', async () => {
    const f = await fiftyOneDetectionFixture(dir);
    const [img1, img2] = await read(f.source);
    expect((img1!.labels.ground_truth as Detections).detections.map((d) => d.label)).toEqual(['cat', 'dog']);
    expect(img2!.labels.ground_truth).toBeNull();
  });
});

describe('image folder', () => {
  it('one Classification per image from its folder; a relabel moves the image, undo moves it back', async () => {
    const f = await imageFolderFixture(dir);
    const samples = await read(f.source);
    expect(samples.map((s) => (s.labels.ground_truth as { label: string }).label)).toEqual([
      'cat',
      'cat',
      'dog',
    ]);
    const moved = samples[0]!;
    const report = await connector.writeLabels(f.source, [
      { sampleId: moved.id, labels: { ground_truth: { _cls: 'Classification', id: 'z', label: 'dog' } } },
    ]);
    expect(report.changedSamples).toBe(1);
    const after = await read(f.source);
    expect(after.map((s) => (s.labels.ground_truth as { label: string }).label)).toEqual([
      'cat',
      'dog',
      'dog',
    ]);
    const name = moved.filepath.split('/').pop()!;
    expect(after.find((s) => s.filepath.endsWith(`/dog/${name}`))).toBeDefined();
    expect(after.some((s) => s.filepath === moved.filepath)).toBe(false);
    await undoSync(report);
    expect((await read(f.source)).map((s) => s.filepath)).toEqual(samples.map((s) => s.filepath));
    await expect(
      connector.writeLabels(f.source, [
        {
          sampleId: moved.id,
          labels: { ground_truth: { _cls: 'Classification', id: 'z', label: '../escape' } },
        },
      ]),
    ).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
  });
});

describe('writeLabels: dry run, backups, undo', () => {
  for (const [name, build] of [
    ['fiftyone', fiftyOneFixture],
    ['coco', cocoFixture],
    ['yolo', yoloFixture],
    ['fiftyone-image-detection', fiftyOneDetectionFixture],
  ] as const) {
    it(`${name}: dry run leaves every file hash alone; undo restores them`, async () => {
      const f = await build(dir);
      const [first] = await read(f.source);
      const update = {
        sampleId: first!.id,
        labels: { ground_truth: { _cls: 'Detections' as const, detections: [] } },
      };
      const before = await hashDatasetTree(f.source.path);
      const dry = await connector.writeLabels(f.source, [update], { dryRun: true });
      expect(await hashDatasetTree(f.source.path)).toEqual(before);
      expect(dry.diffs[0]!.removed).toBeGreaterThan(0);
      expect(dry.diffs[0]!.lines[0]).toMatch(/^- ground_truth: /);

      const real = await connector.writeLabels(f.source, [update]);
      expect(real.filesWritten.length).toBeGreaterThan(0);
      expect(await hashDatasetTree(f.source.path)).not.toEqual(before);
      await undoSync(real);
      const after = await hashDatasetTree(f.source.path);
      for (const [file, hash] of before) expect(after.get(file), file).toBe(hash);
    });
  }

  it('reports fields the format cannot store and unknown samples', async () => {
    const f = await yoloFixture(dir);
    const [first] = await read(f.source);
    const r = await connector.writeLabels(
      f.source,
      [
        { sampleId: first!.id, labels: { other: null } },
        { sampleId: 'nope', labels: {} },
      ],
      { dryRun: true },
    );
    expect(r.diffs.flatMap((d) => d.lines)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/other: not stored/),
        expect.stringMatching(/not found/),
      ]),
    );
    expect(r.changedSamples).toBe(0);
  });
});

describe('new classes from the annotation tool', () => {
  it('YOLO appends them to data.yaml names without moving existing indices', async () => {
    const f = await yoloFixture(dir);
    const [p1] = await read(f.source);
    await connector.writeLabels(f.source, [
      {
        sampleId: p1!.id,
        labels: {
          ground_truth: {
            _cls: 'Detections',
            detections: [{ _cls: 'Detection', id: 'n', label: 'truck', bounding_box: [0.1, 0.1, 0.2, 0.2] }],
          },
        },
      },
    ]);
    const yaml = YAML.parse(await readFile(join(f.source.path, 'data.yaml'), 'utf8')) as {
      names: Record<string, string>;
    };
    expect(yaml.names).toEqual({ 0: 'person', 1: 'bike', 2: 'truck' });
    expect((await readFile(join(f.source.path, 'labels/train/p1.txt'), 'utf8')).startsWith('2 ')).toBe(true);
    const again = await read(f.source);
    expect((again[0]!.labels.ground_truth as Detections).detections[0]!.label).toBe('truck');
  });

  it('COCO keeps compressed RLE when the file already uses it', async () => {
    const f = await cocoFixture(dir);
    const samples = await read(f.source);
    const two = samples[1]!;
    const gt = two.labels.ground_truth as Detections;
    const moved = {
      ...gt.detections[0]!,
      bounding_box: [0, 0, 0.02, 0.02] as [number, number, number, number],
    };
    await connector.writeLabels(f.source, [
      { sampleId: two.id, labels: { ground_truth: { _cls: 'Detections', detections: [moved] } } },
    ]);
    const coco = JSON.parse(await readFile(join(f.source.path, 'labels.json'), 'utf8')) as {
      annotations: Array<{ id: number; segmentation: { counts: unknown } }>;
    };
    expect(coco.annotations.find((a) => a.id === 7)!.segmentation.counts).toBe('02100');
  });
});
