/**
 * Conformance kit for the dataset-connector contract. A connector supplies `create()` and, per format it
 * supports, a fixture builder that writes a small dataset into a temp dir; the kit then checks what every
 * connector must guarantee: counts, stable ids, dry runs that change nothing, label writes that persist
 * with backups, and export → re-read round trips.
 *
 *   checkDatasetConnectorConformance(options)  → results, no test runner needed
 *   runDatasetConnectorConformance(options)    → one vitest `it` per format and check
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, it } from 'vitest';
import type {
  DatasetConnectorInstance,
  DatasetSource,
  DatasetSourceFormat,
  SampleLabelsUpdate,
} from '../contracts/dataset-connector.js';
import type { Sample } from '../schemas/domain.js';
import { individualLabels, type LabelValue } from '../schemas/labels.js';

export interface DatasetConnectorFixture {
  /** The dataset the builder wrote (path inside the given dir). */
  source: DatasetSource;
  expectedSampleCount: number;
  /** When given, readInfo must report exactly these classes (order included). */
  expectedClasses?: string[];
  /** The label update the write checks apply; default: one new detection (or a changed classification) on the first sample. */
  makeUpdate?: (sample: Sample, classes: string[]) => SampleLabelsUpdate;
}

export interface DatasetConnectorFormatCase {
  format: DatasetSourceFormat;
  buildFixture(dir: string): Promise<DatasetConnectorFixture>;
  /** False for formats that refuse label writes (e.g. image folders); the write checks then expect a refusal. */
  supportsWriteLabels?: boolean;
  /** Whether label ids survive write + re-read (default true). */
  preservesLabelIds?: boolean;
  /**
   * Whether a sample keeps its id when its labels are rewritten (default true). Formats whose ids derive
   * from the file's location (a folder per class) move the file on relabel; the re-read then matches by
   * file name.
   */
  preservesSampleIdsOnRelabel?: boolean;
  /** Whether sample ids survive writeDataset + re-read (default true); otherwise samples match by file name. */
  preservesSampleIdsOnExport?: boolean;
}

export interface DatasetConnectorConformanceOptions {
  name: string;
  create(): Promise<DatasetConnectorInstance>;
  formats: DatasetConnectorFormatCase[];
}

export interface ConformanceCheckResult {
  format: DatasetSourceFormat;
  check: DatasetConnectorCheckName;
  ok: boolean;
  error?: string;
}

export const DATASET_CONNECTOR_CHECKS = [
  'detects its format',
  'readInfo counts match readSamples',
  'readSamples yields stable ids across reads',
  'writeLabels dry run changes nothing',
  'writeLabels persists and re-read gives the new labels',
  'writeLabels keeps backups of replaced files',
  'writeDataset → readSamples round trip',
] as const;
export type DatasetConnectorCheckName = (typeof DATASET_CONNECTOR_CHECKS)[number];

class CheckFailure extends Error {}
function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailure(message);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of items) out.push(x);
  return out;
}

/** sha256 of every file under `dir`, keyed by relative path. */
export async function hashDatasetTree(dir: string, prefix = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) for (const [k, v] of await hashDatasetTree(dir, rel)) out.set(k, v);
    else if (e.isFile())
      out.set(
        rel,
        createHash('sha256')
          .update(await readFile(join(dir, rel)))
          .digest('hex'),
      );
  }
  return out;
}

type Flat = { cls: string; label: string; id: string; nums: number[] };

function flatten(value: LabelValue | null | undefined): Flat[] {
  return individualLabels(value).map((l) => {
    const nums =
      l._cls === 'Detection'
        ? [...l.bounding_box]
        : l._cls === 'Polyline'
          ? l.points.flat(2)
          : l._cls === 'Keypoint'
            ? l.points.flat()
            : [];
    return { cls: l._cls, label: l.label, id: l.id, nums };
  });
}

/** Compares two label maps by content: class, label and geometry (±1e-6), and ids when asked. */
export function compareSampleLabels(
  a: Sample['labels'],
  b: Sample['labels'],
  options: { ids: boolean; fields?: string[] },
): string | null {
  const fields = options.fields ?? [...new Set([...Object.keys(a), ...Object.keys(b)])];
  for (const field of fields) {
    const key = (f: Flat) => `${f.cls}|${f.label}|${f.nums.map((n) => n.toFixed(5)).join(',')}`;
    const x = flatten(a[field]).sort((p, q) => key(p).localeCompare(key(q)));
    const y = flatten(b[field]).sort((p, q) => key(p).localeCompare(key(q)));
    if (x.length !== y.length) return `field ${field}: ${x.length} labels vs ${y.length}`;
    for (let i = 0; i < x.length; i++) {
      const p = x[i]!;
      const q = y[i]!;
      if (p.cls !== q.cls || p.label !== q.label)
        return `field ${field}: ${p.cls} "${p.label}" vs ${q.cls} "${q.label}"`;
      if (p.nums.length !== q.nums.length || p.nums.some((n, k) => Math.abs(n - q.nums[k]!) > 1e-6))
        return `field ${field}: geometry ${p.nums.join(',')} vs ${q.nums.join(',')}`;
      if (options.ids && p.id !== q.id) return `field ${field}: label id ${p.id} vs ${q.id}`;
    }
  }
  return null;
}

/** The fixture's first sample and the label update the write checks apply to it. */
async function firstSampleUpdate(
  connector: DatasetConnectorInstance,
  fixture: DatasetConnectorFixture,
): Promise<{ first: Sample; update: SampleLabelsUpdate }> {
  const [first] = await collect(connector.readSamples(fixture.source));
  assert(first, 'fixture has no samples');
  const info = await connector.readInfo(fixture.source);
  const update = (
    fixture.makeUpdate ?? ((s, cl) => defaultUpdate(s, cl, fixture.source.labelField ?? 'ground_truth'))
  )(first, info.classes);
  return { first, update };
}

function defaultUpdate(sample: Sample, classes: string[], field: string): SampleLabelsUpdate {
  const current = sample.labels[field];
  const cls = classes[0] ?? 'object';
  if (current?._cls === 'Classification') {
    const other = classes.find((c) => c !== current.label) ?? `${current.label}_changed`;
    return { sampleId: sample.id, labels: { [field]: { ...current, label: other } } };
  }
  const existing =
    current?._cls === 'Detections' ? current.detections : current?._cls === 'Detection' ? [current] : [];
  return {
    sampleId: sample.id,
    labels: {
      [field]: {
        _cls: 'Detections',
        detections: [
          ...existing,
          {
            _cls: 'Detection',
            id: 'a1b2c3d4e5f6a7b8c9d0e1f2',
            label: cls,
            bounding_box: [0.25, 0.25, 0.5, 0.25],
          },
        ],
      },
    },
  };
}

type CheckFn = (ctx: {
  connector: DatasetConnectorInstance;
  fixture: DatasetConnectorFixture;
  dir: string;
  c: DatasetConnectorFormatCase;
}) => Promise<void>;

const CHECKS: Record<DatasetConnectorCheckName, CheckFn> = {
  async 'detects its format'({ connector, fixture, c }) {
    const detected = await connector.detectFormat(fixture.source.path);
    assert(detected === c.format, `detectFormat said ${String(detected)}, expected ${c.format}`);
  },
  async 'readInfo counts match readSamples'({ connector, fixture }) {
    const info = await connector.readInfo(fixture.source);
    const samples = await collect(connector.readSamples(fixture.source));
    assert(
      info.format === fixture.source.format,
      `readInfo.format ${info.format} ≠ ${fixture.source.format}`,
    );
    assert(
      info.sampleCount === samples.length,
      `readInfo.sampleCount ${info.sampleCount} ≠ ${samples.length} samples read`,
    );
    assert(
      samples.length === fixture.expectedSampleCount,
      `read ${samples.length} samples, fixture has ${fixture.expectedSampleCount}`,
    );
    if (fixture.expectedClasses)
      assert(
        JSON.stringify(info.classes) === JSON.stringify(fixture.expectedClasses),
        `classes ${JSON.stringify(info.classes)} ≠ ${JSON.stringify(fixture.expectedClasses)}`,
      );
  },
  async 'readSamples yields stable ids across reads'({ connector, fixture }) {
    const a = await collect(connector.readSamples(fixture.source));
    const b = await collect(connector.readSamples(fixture.source));
    assert(new Set(a.map((s) => s.id)).size === a.length, 'sample ids are not unique');
    assert(
      JSON.stringify(a.map((s) => s.id)) === JSON.stringify(b.map((s) => s.id)),
      'sample ids differ between two reads',
    );
    const labelIds = (ss: Sample[]) =>
      ss.map((s) =>
        Object.values(s.labels)
          .flatMap((v) => flatten(v).map((f) => f.id))
          .join(','),
      );
    assert(JSON.stringify(labelIds(a)) === JSON.stringify(labelIds(b)), 'label ids differ between two reads');
  },
  async 'writeLabels dry run changes nothing'({ connector, fixture, dir, c }) {
    const { first, update } = await firstSampleUpdate(connector, fixture);
    const before = await hashDatasetTree(dir);
    const report = await connector.writeLabels(fixture.source, [update], { dryRun: true });
    const after = await hashDatasetTree(dir);
    assert(JSON.stringify([...before]) === JSON.stringify([...after]), 'files changed during a dry run');
    assert(
      report.dryRun === true && report.filesWritten.length === 0 && report.backups.length === 0,
      'dry-run report lists written files or backups',
    );
    if (c.supportsWriteLabels !== false)
      assert(
        report.diffs.some((d) => d.sampleId === first.id && d.lines.length > 0),
        'dry run reported no diff for the changed sample',
      );
  },
  async 'writeLabels persists and re-read gives the new labels'({ connector, fixture, c }) {
    const { first, update } = await firstSampleUpdate(connector, fixture);
    if (c.supportsWriteLabels === false) {
      let refused = false;
      try {
        await connector.writeLabels(fixture.source, [update]);
      } catch {
        refused = true;
      }
      assert(refused, 'a format declared read-only accepted a label write');
      return;
    }
    const report = await connector.writeLabels(fixture.source, [update]);
    assert(
      report.changedSamples === 1 && report.filesWritten.length > 0,
      `expected 1 changed sample with files written, got ${report.changedSamples} / ${report.filesWritten.length}`,
    );
    const again = (await collect(connector.readSamples(fixture.source))).find((s) =>
      c.preservesSampleIdsOnRelabel === false
        ? basename(s.filepath) === basename(first.filepath)
        : s.id === first.id,
    );
    assert(again, 'the updated sample disappeared after the write');
    const problem = compareSampleLabels(again.labels, update.labels as Sample['labels'], {
      ids: c.preservesLabelIds !== false,
      fields: Object.keys(update.labels),
    });
    assert(problem === null, `re-read labels differ from the written ones: ${problem}`);
  },
  async 'writeLabels keeps backups of replaced files'({ connector, fixture, dir, c }) {
    if (c.supportsWriteLabels === false) return;
    const { update } = await firstSampleUpdate(connector, fixture);
    const before = await hashDatasetTree(dir);
    const report = await connector.writeLabels(fixture.source, [update], { backup: true });
    for (const file of report.filesWritten) {
      const rel = file.slice(dir.length + 1);
      if (!before.has(rel)) continue; // created by the write: nothing to back up
      const backup = report.backups.find((b) => b.startsWith(`${file}.`));
      assert(backup, `no backup for replaced file ${file}`);
      const hash = createHash('sha256')
        .update(await readFile(backup))
        .digest('hex');
      assert(
        hash === before.get(rel),
        `backup ${basename(backup)} does not hold the file's previous content`,
      );
    }
  },
  async 'writeDataset → readSamples round trip'({ connector, fixture, dir, c }) {
    const samples = await collect(connector.readSamples(fixture.source));
    const target: DatasetSource = { ...fixture.source, path: join(dir, '__export') };
    const info = await connector.readInfo(fixture.source);
    const written = await connector.writeDataset(target, samples, { classes: info.classes });
    assert(written.files.length > 0, 'writeDataset reported no files');
    for (const f of written.files)
      await stat(f).catch(() => assert(false, `writeDataset reported ${f}, which does not exist`));
    const back = await collect(connector.readSamples(target));
    const expected =
      c.format === 'imagefolder' ? samples.filter((s) => Object.values(s.labels).some(Boolean)) : samples;
    assert(back.length === expected.length, `re-read ${back.length} samples, wrote ${expected.length}`);
    const keyOf = (s: Sample) => (c.preservesSampleIdsOnExport === false ? basename(s.filepath) : s.id);
    const byKey = new Map(back.map((s) => [keyOf(s), s]));
    for (const s of expected) {
      const other = byKey.get(keyOf(s));
      assert(other, `sample ${keyOf(s)} missing after the round trip`);
      const problem = compareSampleLabels(other.labels, s.labels, { ids: c.preservesLabelIds !== false });
      assert(problem === null, `sample ${keyOf(s)}: ${problem}`);
    }
  },
};

async function runOne(
  options: DatasetConnectorConformanceOptions,
  c: DatasetConnectorFormatCase,
  check: DatasetConnectorCheckName,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), `conformance-${c.format}-`));
  const connector = await options.create();
  try {
    const fixture = await c.buildFixture(dir);
    await CHECKS[check]({ connector, fixture, dir, c });
  } finally {
    await connector.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs every check for every format case (each in a fresh temp dir) and returns the results. */
export async function checkDatasetConnectorConformance(
  options: DatasetConnectorConformanceOptions,
): Promise<ConformanceCheckResult[]> {
  const results: ConformanceCheckResult[] = [];
  for (const c of options.formats) {
    for (const check of DATASET_CONNECTOR_CHECKS) {
      try {
        await runOne(options, c, check);
        results.push({ format: c.format, check, ok: true });
      } catch (error) {
        results.push({
          format: c.format,
          check,
          ok: false,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }
  return results;
}

/** Registers the kit as vitest tests: `describe(<name> dataset-connector conformance)` → format → check. */
export function runDatasetConnectorConformance(options: DatasetConnectorConformanceOptions): void {
  describe(`${options.name} dataset-connector conformance`, () => {
    for (const c of options.formats) {
      describe(c.format, () => {
        for (const check of DATASET_CONNECTOR_CHECKS) it(check, () => runOne(options, c, check));
      });
    }
  });
}
