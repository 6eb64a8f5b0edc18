import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Detections, LabelSchema, Sample } from '@labeler/core';
import { hashDatasetTree } from '@labeler/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFiftyOneConnector, pull, push, syncToDisk, undoSync } from '../src/index.js';
import { FakeBackend } from './fake-backend.js';
import { fiftyOneFixture, LABEL_OIDS, OIDS } from './fixtures.js';

const schema: LabelSchema = {
  controls: [
    { type: 'rectangle', name: 'ground_truth', labels: ['car', 'person', 'bus'] },
    { type: 'choices', name: 'weather', labels: ['sunny', 'rainy'] },
  ],
};
let dir: string;
let backend: FakeBackend;
let project: string;
let samples: Sample[];
const connector = createFiftyOneConnector();
let source: Awaited<ReturnType<typeof fiftyOneFixture>>['source'];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'workflow-'));
  source = (await fiftyOneFixture(dir)).source;
  samples = [];
  for await (const s of connector.readSamples(source)) samples.push(s);
  backend = new FakeBackend();
  project = backend.addProject('run', backend.buildLabelConfig(schema));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});
const mount = () => ({ host_root: dir, ls_document_root: '/ls' });

describe('push', () => {
  it('sends tasks with meta.fiftyone_id, local-files URLs, and labels as predictions with their ids', async () => {
    const progress: number[] = [];
    const r = await push({
      backend,
      projectExternalId: project,
      samples,
      schema,
      mount: mount(),
      batchSize: 2,
      onProgress: (p) => progress.push(p.done),
    });
    expect(r).toMatchObject({ created: 3, skipped: 0, batches: 2, failed: [] });
    expect(progress.at(-1)).toBe(3);
    const first = backend.importCalls[0]![0]!;
    expect(first).toMatchObject({
      sampleId: OIDS[0],
      meta: { fiftyone_id: OIDS[0] },
      data: { image: '/data/local-files/?d=fo/data/a.png' },
    });
    const preds = backend.predictionsOf(OIDS[0]!) as Array<{
      id: string;
      from_name: string;
      original_width: number;
    }>;
    expect(preds.map((p) => p.id)).toEqual([LABEL_OIDS[0], LABEL_OIDS[1], LABEL_OIDS[2]]);
    expect(preds[0]).toMatchObject({ from_name: 'ground_truth', to_name: 'image', original_width: 40 });
  });

  it('is idempotent: an interrupted push re-run never duplicates tasks', async () => {
    backend.failOnImportCall = 2;
    await expect(
      push({ backend, projectExternalId: project, samples, schema, mount: mount(), batchSize: 1 }),
    ).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    expect(backend.tasks.size).toBe(1);
    const again = await push({
      backend,
      projectExternalId: project,
      samples,
      schema,
      mount: mount(),
      batchSize: 1,
    });
    expect(again).toMatchObject({ created: 2, skipped: 1 });
    const third = await push({ backend, projectExternalId: project, samples, schema, mount: mount() });
    expect(third).toMatchObject({ created: 0, skipped: 3 });
    expect(new Set([...backend.tasks.values()].map((t) => t.sampleId)).size).toBe(backend.tasks.size);
  });

  it('annotate_batched reuses one project per run by title', async () => {
    const a = await push({
      backend,
      projectTitle: 'Batch 7',
      samples,
      schema,
      mount: mount(),
      strategy: 'annotate_batched',
    });
    const b = await push({
      backend,
      projectTitle: 'Batch 7',
      samples,
      schema,
      mount: mount(),
      strategy: 'annotate_batched',
    });
    expect(a.projectCreated).toBe(true);
    expect(b.projectExternalId).toBe(a.projectExternalId);
    expect(b).toMatchObject({ projectCreated: false, created: 0, skipped: 3 });
  });

  it('records per-sample failures (outside the host root) and stops on abort', async () => {
    const bad = { ...samples[0]!, id: 'elsewhere', filepath: '/somewhere/else.png' };
    const r = await push({
      backend,
      projectExternalId: project,
      samples: [bad, ...samples],
      schema,
      mount: mount(),
    });
    expect(r.failed).toEqual([
      expect.objectContaining({
        sampleId: 'elsewhere',
        message: expect.stringMatching(/outside mount.host_root/),
      }),
    ]);
    const ctrl = new AbortController();
    ctrl.abort();
    const aborted = await push({
      backend,
      projectExternalId: backend.addProject('x', ''),
      samples,
      schema,
      mount: mount(),
      signal: ctrl.signal,
    });
    expect(aborted).toMatchObject({ aborted: true, created: 0 });
  });
});

describe('pull', () => {
  const rect = (id: string, label: string, x: number) => ({
    id,
    type: 'rectanglelabels',
    from_name: 'ground_truth',
    to_name: 'image',
    original_width: 40,
    original_height: 30,
    value: { x, y: 10, width: 20, height: 20, rotation: 0, rectanglelabels: [label] },
  });

  it('maps by fiftyone_id: edits in place, adds new regions, deletes removed ones; skips cancelled and unlabeled', async () => {
    await push({ backend, projectExternalId: project, samples, schema, mount: mount() });
    // Sample 0: label 0 moved and relabelled, label 1 deleted, one new LS region; classification kept.
    backend.annotate(OIDS[0]!, [
      rect(LABEL_OIDS[0]!, 'bus', 50),
      rect('lsNew01', 'person', 5),
      {
        id: LABEL_OIDS[2],
        type: 'choices',
        from_name: 'weather',
        to_name: 'image',
        value: { choices: ['rainy'] },
      },
    ]);
    // Sample 1: only a cancelled annotation → skipped.
    backend.annotate(OIDS[1]!, [], { wasCancelled: true });
    const r = await pull({ backend, projectExternalId: project, schema, samples });
    expect(r).toMatchObject({ tasksSeen: 2, cancelled: 1, unmatched: [] });
    expect(r.updates).toHaveLength(1);
    const gt = r.updates[0]!.labels.ground_truth as Detections;
    expect(gt.detections).toHaveLength(2);
    expect(gt.detections[0]).toMatchObject({
      id: LABEL_OIDS[0],
      label: 'bus',
      bounding_box: [0.5, 0.1, 0.2, 0.2],
      iscrowd: false,
    });
    expect(gt.detections[1]!.id).toMatch(/^[0-9a-f]{24}$/);
    expect(r.updates[0]!.labels.weather).toMatchObject({ id: LABEL_OIDS[2], label: 'rainy' });
    // Pulling again yields the same ids for LS-made regions.
    const again = await pull({ backend, projectExternalId: project, schema, samples });
    expect((again.updates[0]!.labels.ground_truth as Detections).detections[1]!.id).toBe(
      gt.detections[1]!.id,
    );
  });

  it('takes the latest annotation by default and never falls back to predictions', async () => {
    await push({ backend, projectExternalId: project, samples, schema, mount: mount() });
    backend.annotate(OIDS[0]!, [rect('r1', 'car', 1)]);
    backend.annotate(OIDS[0]!, [rect('r2', 'person', 2)]);
    const r = await pull({ backend, projectExternalId: project, schema, samples });
    expect((r.updates[0]!.labels.ground_truth as Detections).detections.map((d) => d.label)).toEqual([
      'person',
    ]);
    const first = await pull({
      backend,
      projectExternalId: project,
      schema,
      samples,
      annotatorPolicy: 'first',
    });
    expect((first.updates[0]!.labels.ground_truth as Detections).detections.map((d) => d.label)).toEqual([
      'car',
    ]);
    // Sample 2 has a task with predictions only: nothing comes back for it.
    expect(r.updates.map((u) => u.sampleId)).toEqual([OIDS[0]]);
  });

  it('an empty annotation on a sample with an empty label container is not a change', async () => {
    const empty: Sample = {
      ...samples[0]!,
      labels: { ground_truth: { _cls: 'Detections', detections: [] }, weather: null },
    };
    await push({ backend, projectExternalId: project, samples: [empty], schema, mount: mount() });
    backend.annotate(OIDS[0]!, []);
    const r = await pull({ backend, projectExternalId: project, schema, samples: [empty] });
    expect(r).toMatchObject({ unchanged: 1, updates: [] });
  });

  it('an unchanged annotation (the predictions accepted as-is) produces no update', async () => {
    await push({ backend, projectExternalId: project, samples, schema, mount: mount() });
    backend.annotate(OIDS[0]!, backend.predictionsOf(OIDS[0]!));
    const r = await pull({ backend, projectExternalId: project, schema, samples });
    expect(r).toMatchObject({ unchanged: 1, updates: [] });
  });
});

describe('syncToDisk', () => {
  it('dry run changes nothing; write persists; undo restores', async () => {
    await push({ backend, projectExternalId: project, samples, schema, mount: mount() });
    backend.annotate(OIDS[0]!, [rect(LABEL_OIDS[0]!, 'bus', 50)]);
    const { updates } = await pull({ backend, projectExternalId: project, schema, samples });
    const before = await hashDatasetTree(source.path);
    const dry = await syncToDisk(connector, source, updates, { dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, changedSamples: 1, filesWritten: [] });
    expect(dry.diffs[0]!.lines.join('\n')).toMatch(/~ ground_truth: Detection "car".*→ Detection "bus"/);
    expect(await hashDatasetTree(source.path)).toEqual(before);

    const real = await syncToDisk(connector, source, updates);
    expect(real.backups).toHaveLength(1);
    const reread: Sample[] = [];
    for await (const s of connector.readSamples(source)) reread.push(s);
    expect((reread[0]!.labels.ground_truth as Detections).detections.map((d) => [d.id, d.label])).toEqual([
      [LABEL_OIDS[0], 'bus'],
    ]);
    await undoSync(real.backups);
    expect(await hashDatasetTree(source.path)).toEqual(
      new Map([...before, [real.backups[0]!.slice(source.path.length + 1), before.get('samples.json')!]]),
    );
  });
});

function rect(id: string, label: string, x: number) {
  return {
    id,
    type: 'rectanglelabels',
    from_name: 'ground_truth',
    to_name: 'image',
    original_width: 40,
    original_height: 30,
    value: { x, y: 10, width: 20, height: 20, rotation: 0, rectanglelabels: [label] },
  };
}
