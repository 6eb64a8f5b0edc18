import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DatasetConnectorInstance, DatasetSource, Sample } from '../src/index.js';
import { healthy } from '../src/index.js';
import {
  checkDatasetConnectorConformance,
  type DatasetConnectorCheckName,
  runDatasetConnectorConformance,
} from '../src/testing/index.js';

/** A minimal connector over one JSON file, with switches that break one guarantee each. */
function jsonConnector(
  flaws: { randomIds?: boolean; dryRunWrites?: boolean; dropWrites?: boolean; noBackups?: boolean } = {},
): DatasetConnectorInstance {
  const file = (s: DatasetSource) => join(s.path, 'data.json');
  const load = async (s: DatasetSource) =>
    JSON.parse(await readFile(file(s), 'utf8')) as { samples: Sample[] };
  return {
    async detectFormat(path) {
      return (await stat(join(path, 'data.json')).catch(() => null)) ? 'fiftyone' : null;
    },
    async readInfo(s) {
      const { samples } = await load(s);
      return { format: 'fiftyone', name: null, classes: ['a', 'b'], sampleCount: samples.length };
    },
    async *readSamples(s) {
      for (const sample of (await load(s)).samples)
        yield flaws.randomIds ? { ...sample, id: randomBytes(4).toString('hex') } : sample;
    },
    async writeLabels(s, updates, options = {}) {
      const data = await load(s);
      let changed = 0;
      const diffs = [];
      for await (const u of updates) {
        const sample = data.samples.find((x) => x.id === u.sampleId);
        if (!sample) continue;
        if (!flaws.dropWrites) sample.labels = { ...sample.labels, ...u.labels };
        changed++;
        diffs.push({
          sampleId: u.sampleId,
          filepath: sample.filepath,
          added: 1,
          updated: 0,
          removed: 0,
          lines: ['+ label'],
        });
      }
      const backups: string[] = [];
      if (!options.dryRun || flaws.dryRunWrites) {
        if (!flaws.noBackups && !options.dryRun) {
          await copyFile(file(s), `${file(s)}.x.bak`);
          backups.push(`${file(s)}.x.bak`);
        }
        await writeFile(file(s), JSON.stringify(data));
      }
      return {
        dryRun: options.dryRun ?? false,
        changedSamples: changed,
        diffs,
        filesWritten: options.dryRun ? [] : [file(s)],
        backups,
      };
    },
    async writeDataset(target, samples) {
      const list: Sample[] = [];
      for await (const x of samples) list.push(x);
      await mkdir(target.path, { recursive: true });
      await writeFile(file(target), JSON.stringify({ samples: list }));
      return { samples: list.length, files: [file(target)] };
    },
    async health() {
      return healthy();
    },
    async dispose() {},
  };
}

const formats = [
  {
    format: 'fiftyone' as const,
    async buildFixture(dir: string) {
      const path = join(dir, 'ds');
      await mkdir(path, { recursive: true });
      const samples: Sample[] = [
        {
          id: 's1',
          filepath: join(path, 'a.png'),
          tags: [],
          metadata: {},
          labels: {
            ground_truth: {
              _cls: 'Detections',
              detections: [{ _cls: 'Detection', id: 'l1', label: 'a', bounding_box: [0, 0, 0.5, 0.5] }],
            },
          },
        },
        { id: 's2', filepath: join(path, 'b.png'), tags: [], metadata: {}, labels: { ground_truth: null } },
      ];
      await writeFile(join(path, 'data.json'), JSON.stringify({ samples }));
      return {
        source: { path, format: 'fiftyone' as const },
        expectedSampleCount: 2,
        expectedClasses: ['a', 'b'],
      };
    },
  },
];

const failing = async (flaws: Parameters<typeof jsonConnector>[0]): Promise<DatasetConnectorCheckName[]> =>
  (
    await checkDatasetConnectorConformance({
      name: 'json',
      create: async () => jsonConnector(flaws),
      formats,
    })
  )
    .filter((r) => !r.ok)
    .map((r) => r.check);

describe('dataset-connector conformance kit', () => {
  it('passes a correct connector', async () => {
    expect(await failing({})).toEqual([]);
  });
  it('catches unstable ids', async () => {
    expect(await failing({ randomIds: true })).toContain('readSamples yields stable ids across reads');
  });
  it('catches a dry run that writes', async () => {
    expect(await failing({ dryRunWrites: true })).toEqual(['writeLabels dry run changes nothing']);
  });
  it('catches writes that do not persist', async () => {
    expect(await failing({ dropWrites: true })).toContain(
      'writeLabels persists and re-read gives the new labels',
    );
  });
  it('catches missing backups', async () => {
    expect(await failing({ noBackups: true })).toEqual(['writeLabels keeps backups of replaced files']);
  });
});

runDatasetConnectorConformance({ name: 'json-file', create: async () => jsonConnector(), formats });
