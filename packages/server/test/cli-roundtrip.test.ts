import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import type { DatasetSourceFormat, Detections, Sample } from '@labeler/core';
import { createFiftyOneConnector } from '@labeler/plugin-fiftyone';
import { type LabelStudioSimulator, startLabelStudioSimulator } from '@labeler/plugin-labelstudio/simulator';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliConfig, loadCliConfig } from '../src/cli/config.js';
import { pullCommand, pushCommand, syncDiskCommand, syncUndoCommand } from '../src/cli/ls-workflow.js';
import { createOutput } from '../src/cli/output.js';

/** A real, decodable RGB PNG. */
function png(width: number, height: number): Buffer {
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
  ihdr.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, 120)]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(Array.from({ length: height }, () => row)))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

let sim: LabelStudioSimulator;
let docRoot: string;
let dataDir: string;
const out = createOutput(true);

beforeAll(async () => {
  docRoot = mkdtempSync(join(tmpdir(), 'ls-docroot-'));
  dataDir = mkdtempSync(join(tmpdir(), 'labeler-cli-'));
  sim = await startLabelStudioSimulator({ localFiles: { servingEnabled: true, documentRoot: docRoot } });
});
afterAll(async () => {
  await sim?.stop();
  rmSync(docRoot, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

function configFor(extra: string[] = []): CliConfig {
  return loadCliConfig({
    env: {},
    set: [
      `label_studio.url=${sim.url}`,
      `label_studio.api_key=${sim.legacyToken}`,
      `mount.host_root=${docRoot}`,
      `mount.ls_document_root=${sim.documentRoot}`,
      `server.LABELER_DATA_DIR=${dataDir}`,
      ...extra,
    ],
  });
}

/** Writes a two-image dataset in `format` through the connector itself (one labelled box per image). */
async function makeDataset(format: DatasetSourceFormat): Promise<string> {
  const dir = join(docRoot, `ds-${format}`);
  const images = join(docRoot, `src-${format}`);
  mkdirSync(images, { recursive: true });
  const samples: Sample[] = ['cat', 'dog'].map((cls, i) => {
    const filepath = join(images, cls === 'cat' ? 'a.png' : 'b.png');
    writeFileSync(filepath, png(64, 48));
    const label =
      format === 'imagefolder'
        ? { _cls: 'Classification' as const, id: `6561ab00000000000000000${i}`, label: cls }
        : {
            _cls: 'Detections' as const,
            detections: [
              {
                _cls: 'Detection' as const,
                id: `6561ab00000000000000001${i}`,
                label: cls,
                bounding_box: [0.25, 0.25, 0.5, 0.5] as [number, number, number, number],
              },
            ],
          };
    return {
      id: `6561aa00000000000000000${i}`,
      filepath,
      tags: [],
      metadata: { width: 64, height: 48 },
      labels: { ground_truth: label },
    };
  });
  const connector = createFiftyOneConnector({ default_label_field: 'ground_truth' });
  await connector.writeDataset({ path: dir, format, labelField: 'ground_truth' }, samples, {
    classes: ['cat', 'dog'],
  });
  return dir;
}

async function readLabels(dir: string, format: DatasetSourceFormat) {
  const connector = createFiftyOneConnector({ default_label_field: 'ground_truth' });
  const samples: Sample[] = [];
  for await (const s of connector.readSamples({ path: dir, format, labelField: 'ground_truth' }))
    samples.push(s);
  return samples;
}

function tasksOf(projectId: string) {
  return [...sim.state.tasks.values()].filter((t) => String(t.project) === projectId);
}

const FORMATS: DatasetSourceFormat[] = [
  'fiftyone',
  'fiftyone-image-detection',
  'coco',
  'yolo',
  'imagefolder',
];

describe('labeler push → annotate in Label Studio → pull → sync disk, in every format', () => {
  for (const format of FORMATS) {
    it(format, async () => {
      const dir = await makeDataset(format);
      const config = configFor();
      const before = await readLabels(dir, format);
      expect(before).toHaveLength(2);

      const pushed = await pushCommand(config, dir, { format, projectTitle: `roundtrip ${format}` }, out);
      expect(pushed.created).toBe(2);
      const again = await pushCommand(config, dir, { format, projectTitle: `roundtrip ${format}` }, out);
      expect([again.created, again.skipped]).toEqual([0, 2]);
      const tasks = tasksOf(pushed.project_external_id);
      expect(tasks).toHaveLength(2);

      // An annotator relabels the first image and leaves the second unlabelled; a cancelled annotation is ignored.
      const first = before[0]!;
      const task = tasks.find((t) => t.meta.fiftyone_id === first.id || t.meta.sample_id === first.id)!;
      expect(task).toBeDefined();
      const result =
        format === 'imagefolder'
          ? [
              {
                id: 'r1',
                from_name: 'ground_truth',
                to_name: 'image',
                type: 'choices',
                value: { choices: ['dog'] },
              },
            ]
          : [
              {
                id: 'r1',
                from_name: 'ground_truth',
                to_name: 'image',
                type: 'rectanglelabels',
                original_width: 64,
                original_height: 48,
                image_rotation: 0,
                value: { x: 10, y: 20, width: 30, height: 40, rotation: 0, rectanglelabels: ['dog'] },
              },
            ];
      sim.state.addAnnotation(task.id, { result });
      const other = tasks.find((t) => t !== task)!;
      sim.state.addAnnotation(other.id, { result, wasCancelled: true });

      const pulled = await pullCommand(config, dir, {}, out);
      expect(pulled.updated_samples).toBe(1);

      // Every file's sha256 (a dry run must not rewrite a byte, even keeping the length), every folder by name.
      const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
      const hashes = () =>
        readdirSync(dir, { recursive: true })
          .map(String)
          .sort()
          .map((f) => (statSync(join(dir, f)).isDirectory() ? `${f}/` : `${f}:${sha256(join(dir, f))}`));
      const untouched = hashes();
      const dry = await syncDiskCommand(config, dir, { dryRun: true }, out);
      expect(dry.dryRun).toBe(true);
      expect(dry.changedSamples).toBe(1);
      expect(hashes()).toEqual(untouched);

      const written = await syncDiskCommand(config, dir, { dryRun: false }, out);
      expect(written.changedSamples).toBe(1);
      expect(written.backups.length).toBeGreaterThan(0);

      const after = await readLabels(dir, format);
      const changed = after.find(
        (s) => s.filepath.endsWith(first.filepath.split('/').pop()!) || s.id === first.id,
      )!;
      const unchanged = after.find((s) => s !== changed)!;
      if (format === 'imagefolder') {
        expect(changed.labels.ground_truth).toMatchObject({ _cls: 'Classification', label: 'dog' });
        expect(unchanged.labels.ground_truth).toMatchObject({ _cls: 'Classification', label: 'dog' });
      } else {
        const dets = (changed.labels.ground_truth as Detections).detections;
        expect(dets).toHaveLength(1);
        expect(dets[0]!.label).toBe('dog');
        const [x, y, w, h] = dets[0]!.bounding_box;
        expect([x, y, w, h].map((v) => Math.round(v * 1000) / 1000)).toEqual([0.1, 0.2, 0.3, 0.4]);
        // The second image keeps its original box: the cancelled annotation was ignored.
        expect((unchanged.labels.ground_truth as Detections).detections.map((d) => d.label)).toEqual(['dog']);
      }

      // Still valid by the format's own rules.
      if (format === 'coco') {
        const coco = JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8')) as {
          images: Array<{ id: number; width: number; height: number }>;
          annotations: Array<{ id: number; image_id: number; bbox: number[]; category_id: number }>;
          categories: Array<{ id: number; name: string }>;
        };
        expect(new Set(coco.annotations.map((a) => a.id)).size).toBe(coco.annotations.length);
        const imageIds = new Set(coco.images.map((i) => i.id));
        const categoryIds = new Set(coco.categories.map((c) => c.id));
        for (const a of coco.annotations) {
          expect(imageIds.has(a.image_id)).toBe(true);
          expect(categoryIds.has(a.category_id)).toBe(true);
          const img = coco.images.find((i) => i.id === a.image_id)!;
          expect(a.bbox[0]! + a.bbox[2]!).toBeLessThanOrEqual(img.width + 1e-6);
        }
      }
      if (format === 'yolo') {
        expect(parseYaml(readFileSync(join(dir, 'data.yaml'), 'utf8'))).toHaveProperty('names');
        const labelFiles = readdirSync(join(dir, 'labels'), { recursive: true })
          .map(String)
          .filter((f) => f.endsWith('.txt'));
        for (const f of labelFiles) {
          for (const line of readFileSync(join(dir, 'labels', f), 'utf8')
            .trim()
            .split('\n')
            .filter(Boolean)) {
            const [cls, ...coords] = line.trim().split(/\s+/).map(Number);
            expect(Number.isInteger(cls)).toBe(true);
            for (const c of coords) {
              expect(c).toBeGreaterThanOrEqual(0);
              expect(c).toBeLessThanOrEqual(1);
            }
          }
        }
      }

      // Pulling and syncing again (a re-run after an interruption) never duplicates a label.
      const beforeSecondSync = await readLabels(dir, format);
      await pullCommand(config, dir, {}, out);
      const second = await syncDiskCommand(config, dir, { dryRun: false }, out).catch(
        (error: { message?: string }) => {
          // Nothing left to write is fine; anything else is not.
          if (!String(error.message).includes('No pulled changes')) throw error;
          return null;
        },
      );
      const rerun = (await readLabels(dir, format)).find((s) =>
        s.filepath.endsWith(first.filepath.split('/').pop()!),
      )!;
      if (format === 'imagefolder')
        expect(rerun.labels.ground_truth).toMatchObject({ _cls: 'Classification', label: 'dog' });
      else expect((rerun.labels.ground_truth as Detections).detections.map((d) => d.label)).toEqual(['dog']);

      // Undo reverts the last sync that wrote something.
      const undone = await syncUndoCommand(config, dir);
      expect(undone.restored.length).toBeGreaterThan(0);
      const restored = await readLabels(dir, format);
      const expected = second && second.changedSamples > 0 ? beforeSecondSync : before;
      expect(JSON.stringify(restored.map((s) => s.labels))).toBe(
        JSON.stringify(expected.map((s) => s.labels)),
      );
    });
  }
});
