import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatasetFormat, Sample, Scope } from '@labeler/core';
import type { Command } from 'commander';
import type { AppServices } from '../../app/services.js';
import { CLI_PRINCIPAL, withServices } from '../context.js';
import { DEMO_CLASSES, type DemoShape, drawShapesPng, seededRandom } from '../demo-images.js';
import { contextOf } from './shared.js';
import { defaultDatasetConnector } from '../../plugins/catalog.js';

/** Every demo dataset carries this tag; with its name it is how a second run finds it again. */
export const DEMO_TAG = 'labeler-demo';
export const DEMO_ACCOUNT_NAME = 'platform-demo';
export const DEMO_ACCOUNT_SCOPES: Scope[] = ['datasets:read', 'datasets:download', 'datasets:permissions'];

type DemoFormat = Extract<DatasetFormat, 'coco' | 'yolo' | 'imagefolder'>;
interface DemoSpec {
  format: DemoFormat;
  name: string;
  description: string;
  images: number;
  seed: number;
}
export const DEMO_DATASETS: readonly DemoSpec[] = [
  {
    format: 'coco',
    name: 'demo-shapes-coco',
    description: 'Demo: COCO detection of circles, squares and triangles (labels.json + data/).',
    images: 12,
    seed: 1,
  },
  {
    format: 'yolo',
    name: 'demo-shapes-yolo',
    description: 'Demo: YOLO detection of circles, squares and triangles (data.yaml, images/, labels/).',
    images: 12,
    seed: 2,
  },
  {
    format: 'imagefolder',
    name: 'demo-shapes-imagefolder',
    description: 'Demo: image-folder classification, one folder per shape.',
    images: 12,
    seed: 3,
  },
];
const WIDTH = 128;
const HEIGHT = 96;
/** The default connector's label field (plugins/catalog.ts). */
const LABEL_FIELD = 'ground_truth';

/** A 24-hex id that is the same on every run, so a re-run recognises its own samples and labels. */
function stableId(key: string): string {
  return createHash('sha1').update(key, 'utf8').digest('hex').slice(0, 24);
}

/**
 * Draws the images of one demo dataset into `raw/` and writes them in the dataset's own format with the
 * FiftyOne connector (the same code that reads them back on import), so files and labels agree.
 */
async function writeDemoFolder(spec: DemoSpec, work: string): Promise<string> {
  const random = seededRandom(spec.seed);
  const raw = join(work, 'raw');
  const target = join(work, spec.format);
  await mkdir(raw, { recursive: true });
  const samples: Sample[] = [];
  for (let i = 0; i < spec.images; i++) {
    const split = i % 4 === 3 ? 'val' : 'train';
    const filepath = join(raw, `${spec.format}-${String(i).padStart(3, '0')}.png`);
    const id = stableId(`labeler-demo:${spec.format}:${i}`);
    if (spec.format === 'imagefolder') {
      const shape = DEMO_CLASSES[i % DEMO_CLASSES.length] as DemoShape;
      const { png } = drawShapesPng(WIDTH, HEIGHT, [shape], random);
      await writeFile(filepath, png);
      samples.push({
        id,
        filepath,
        tags: [split],
        metadata: { width: WIDTH, height: HEIGHT },
        labels: { [LABEL_FIELD]: { _cls: 'Classification', id: stableId(`${id}:0`), label: shape } },
      });
      continue;
    }
    const shapes = Array.from(
      { length: 1 + (i % 2) },
      (_, k) => DEMO_CLASSES[(i + k) % DEMO_CLASSES.length] as DemoShape,
    );
    const { png, drawn } = drawShapesPng(WIDTH, HEIGHT, shapes, random);
    await writeFile(filepath, png);
    samples.push({
      id,
      filepath,
      tags: [split],
      metadata: { width: WIDTH, height: HEIGHT },
      labels: {
        [LABEL_FIELD]: {
          _cls: 'Detections',
          detections: drawn.map((d, k) => ({
            _cls: 'Detection' as const,
            id: stableId(`${id}:${k}`),
            label: d.shape,
            bounding_box: d.box,
          })),
        },
      },
    });
  }
  await defaultDatasetConnector().writeDataset(
    { path: target, format: spec.format, labelField: LABEL_FIELD },
    samples,
    { classes: [...DEMO_CLASSES] },
  );
  return target;
}

export interface DemoDatasetResult {
  id: string;
  name: string;
  format: DemoFormat;
  version: number;
  num_images: number;
  reused: boolean;
}
export interface DemoResult {
  datasets: DemoDatasetResult[];
  service_account: {
    id: string;
    name: string;
    scopes: string[];
    /** created | rotated (--new-key) | reused (no key printed). */
    action: 'created' | 'rotated' | 'reused';
    api_key?: string;
  };
}

/**
 * Seeds the demo: each dataset is created and imported through the same services as
 * `labeler dataset import` unless a dataset of its name and the demo tag already has a version.
 */
export async function runDemo(
  app: AppServices,
  options: { newKey: boolean; ownerId: number; info?: (message: string) => void },
): Promise<DemoResult> {
  const info = options.info ?? (() => {});
  const existing = (await app.datasets.list(CLI_PRINCIPAL, { page: 1, limit: 200, tags: [DEMO_TAG] }))
    .datasets;
  const work = await mkdtemp(join(tmpdir(), 'labeler-demo-'));
  const datasets: DemoDatasetResult[] = [];
  try {
    for (const spec of DEMO_DATASETS) {
      const found = existing.find((d) => d.name === spec.name && d.format === spec.format);
      // Its images are counted by the version an import records: fewer means a run was cut off before.
      if (found && found.numImages >= spec.images) {
        info(`reusing dataset ${found.id} (${spec.name}, v${found.version})`);
        datasets.push({
          id: found.id,
          name: found.name,
          format: spec.format,
          version: found.version,
          num_images: found.numImages,
          reused: true,
        });
        continue;
      }
      const folder = await writeDemoFolder(spec, join(work, spec.format));
      const fields = {
        description: spec.description,
        labeled: true,
        class_names: [...DEMO_CLASSES],
        tags: [DEMO_TAG],
      };
      const id = found
        ? // Left by a run that was cut off: give it the demo's metadata, then import as a first run would.
          (await app.datasets.update({ dataset_id: found.id, ...fields }, CLI_PRINCIPAL)).id
        : (
            await app.datasets.create(
              {
                name: spec.name,
                format: spec.format,
                visibility: 'private',
                owner_id: options.ownerId,
                ...fields,
              },
              CLI_PRINCIPAL,
              await app.storageFiles.resolveStorageFor(null),
            )
          ).id;
      const annotationPath =
        spec.format === 'coco'
          ? `datasets/${id}/labels.json`
          : spec.format === 'yolo'
            ? `datasets/${id}/data.yaml`
            : undefined;
      const imported = await app.storageFiles.importDirectory(id, folder, CLI_PRINCIPAL, {
        ...(annotationPath ? { annotationPath } : {}),
      });
      info(`created dataset ${id} (${spec.name}): ${imported.imported} files, ${imported.samples} samples`);
      datasets.push({
        id,
        name: spec.name,
        format: spec.format,
        version: imported.version.version,
        num_images: imported.samples,
        reused: false,
      });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  const account = (await app.serviceAccounts.list()).find(
    (a) => a.name === DEMO_ACCOUNT_NAME && a.status === 'active',
  );
  if (!account) {
    const created = await app.serviceAccounts.create(
      { name: DEMO_ACCOUNT_NAME, scopes: DEMO_ACCOUNT_SCOPES, expiresAt: null, organizationId: null },
      CLI_PRINCIPAL,
    );
    return {
      datasets,
      service_account: {
        id: created.service_account_id,
        name: DEMO_ACCOUNT_NAME,
        scopes: created.scopes,
        action: 'created',
        api_key: created.api_key,
      },
    };
  }
  if (options.newKey) {
    // No overlap: the old demo key stops working at once.
    const rotated = await app.serviceAccounts.rotate(account.id, 0, CLI_PRINCIPAL);
    return {
      datasets,
      service_account: {
        id: account.id,
        name: DEMO_ACCOUNT_NAME,
        scopes: account.scopes,
        action: 'rotated',
        api_key: rotated.api_key,
      },
    };
  }
  return {
    datasets,
    service_account: { id: account.id, name: DEMO_ACCOUNT_NAME, scopes: account.scopes, action: 'reused' },
  };
}

export function registerDemoCommands(program: Command): void {
  program
    .command('demo')
    .description(
      'seed three small demo datasets (COCO, YOLO, image folder) with generated images and labels, and a Platform service account; idempotent',
    )
    .option('--new-key', 'issue a new key for the demo service account (the old one stops working)', false)
    .option('--owner <userId>', 'Platform user id that owns the demo datasets', '1')
    .action(async (opts: { newKey: boolean; owner: string }, command: Command) => {
      const { config, out } = contextOf(command);
      const ownerId = Number(opts.owner);
      if (!Number.isInteger(ownerId) || ownerId < 1)
        throw new Error('--owner must be a positive whole number (a Platform user id)');
      const result = await withServices(config, (app) =>
        runDemo(app, { newKey: opts.newKey, ownerId, info: (m) => out.info(m) }),
      );
      out.result(result, () => {
        const lines = result.datasets.map(
          (d) =>
            `${d.reused ? 'reused ' : 'created'}  ${d.id}  v${d.version}  ${d.format.padEnd(11)} ${String(d.num_images).padStart(3)} images  ${d.name}`,
        );
        const sa = result.service_account;
        if (sa.api_key)
          lines.push(
            `service account ${sa.id} (${sa.name}, ${sa.scopes.join(', ')}) ${sa.action}`,
            `api key (shown once, store it now): ${sa.api_key}`,
          );
        else
          lines.push(
            `service account ${sa.id} (${sa.name}) reused; its key was shown when it was created (labeler demo --new-key issues a new one)`,
          );
        return lines.join('\n');
      });
    });
}
