import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendTask } from '@labeler/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  buildLabelConfig,
  createLabelStudioBackend,
  labelStudioConfigSchema,
  pickAnnotation,
  withProjectLock,
} from '../src/index.js';
import {
  checkLabelConfig,
  type LabelStudioSimulator,
  startLabelStudioSimulator,
} from '../src/simulator/index.js';
import { backendFor, collect, LABEL_CONFIG } from './helpers.js';

describe('buildLabelConfig', () => {
  it('maps each control type to its tag, one Image, escaped values, and LS accepts it', () => {
    const xml = buildLabelConfig({
      controls: [
        { type: 'rectangle', name: 'boxes', labels: ['cat', 'a "quoted" & <odd> label'] },
        { type: 'polygon', name: 'polys', labels: ['road'] },
        { type: 'keypoint', name: 'points', labels: ['nose'] },
        { type: 'brush', name: 'masks', labels: ['sky'] },
        { type: 'choices', name: 'weather', labels: ['sun', 'rain'], multiple: true },
      ],
    });
    expect(xml.match(/<Image /g)).toHaveLength(1);
    expect(xml).toContain('<Image name="image" value="$image"/>');
    for (const tag of [
      'RectangleLabels name="boxes"',
      'PolygonLabels name="polys"',
      'KeyPointLabels name="points"',
      'BrushLabels name="masks"',
      'Choices name="weather" toName="image" choice="multiple"',
    ]) {
      expect(xml).toContain(`<${tag}`);
    }
    expect(xml).toContain('value="a &quot;quoted&quot; &amp; &lt;odd&gt; label"');
    expect(checkLabelConfig(xml).ok).toBe(true);
  });

  it('rejects a control named like the image or duplicate labels', () => {
    expect(() => buildLabelConfig({ controls: [{ type: 'choices', name: 'image', labels: ['a'] }] })).toThrow(
      /reserved/,
    );
    expect(() =>
      buildLabelConfig({ controls: [{ type: 'rectangle', name: 'b', labels: ['a', 'a'] }] }),
    ).toThrow(/twice/);
  });
});

describe('pickAnnotation', () => {
  const a = (id: string, updatedAt: string, flags: { gt?: boolean; cancelled?: boolean } = {}) => ({
    externalId: id,
    updatedAt,
    groundTruth: flags.gt ?? false,
    wasCancelled: flags.cancelled ?? false,
  });
  it('ground truth wins, else the latest by updated_at; cancelled never', () => {
    expect(
      pickAnnotation({
        annotations: [
          a('1', '2024-01-01T00:00:00Z'),
          a('2', '2024-01-03T00:00:00Z'),
          a('3', '2024-01-02T00:00:00Z'),
        ],
      })?.externalId,
    ).toBe('2');
    expect(
      pickAnnotation({
        annotations: [a('1', '2024-01-01T00:00:00Z', { gt: true }), a('2', '2024-01-03T00:00:00Z')],
      })?.externalId,
    ).toBe('1');
    expect(
      pickAnnotation({
        annotations: [
          a('1', '2024-01-01T00:00:00Z', { gt: true, cancelled: true }),
          a('2', '2024-01-03T00:00:00Z'),
        ],
      })?.externalId,
    ).toBe('2');
    expect(
      pickAnnotation({
        annotations: [a('1', '2024-01-05T00:00:00Z', { cancelled: true }), a('2', '2024-01-03T00:00:00Z')],
      })?.externalId,
    ).toBe('2');
    expect(pickAnnotation({ annotations: [a('1', '2024-01-05T00:00:00Z', { cancelled: true })] })).toBeNull();
    expect(
      pickAnnotation({ annotations: [a('9', '2024-01-01T00:00:00Z'), a('10', '2024-01-01T00:00:00Z')] })
        ?.externalId,
    ).toBe('10');
  });
});

describe('withProjectLock', () => {
  it('serialises callers per key, not across keys', async () => {
    const order: string[] = [];
    const slow = (key: string, tag: string) =>
      withProjectLock(key, async () => {
        order.push(`${tag}:start`);
        await new Promise((resolve) => setTimeout(resolve, 10));
        order.push(`${tag}:end`);
      });
    await Promise.all([slow('k', 'a'), slow('k', 'b'), slow('other', 'c')]);
    expect(order.indexOf('a:end')).toBeLessThan(order.indexOf('b:start'));
    expect(order.indexOf('c:start')).toBeLessThan(order.indexOf('a:end'));
  });
});

describe('Label Studio backend', () => {
  let sim: LabelStudioSimulator;
  beforeEach(async () => {
    sim = await startLabelStudioSimulator();
  });
  afterEach(async () => {
    sim.faults.clear();
    await sim.stop();
  });

  it('50 concurrent ensureProject calls with one title create exactly one project', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        backendFor(sim).ensureProject({ title: 'Concurrent', labelConfig: LABEL_CONFIG }),
      ),
    );
    expect(sim.state.projects.size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.project.externalId)).size).toBe(1);
  });

  it('ensureProject adopts by recorded id, by exact title, updates the config, and survives a lost create answer', async () => {
    const backend = backendFor(sim);
    sim.state.createProject({ title: 'Concurrent and more' }); // icontains match, not exact
    const first = await backend.ensureProject({ title: 'Concurrent', labelConfig: LABEL_CONFIG });
    expect(first.created).toBe(true);
    const changed = LABEL_CONFIG.replace('<Label value="dog"/>', '<Label value="dog"/><Label value="bird"/>');
    const adopted = await backend.ensureProject({
      externalId: first.project.externalId,
      title: 'Renamed?',
      labelConfig: changed,
    });
    expect(adopted).toMatchObject({
      created: false,
      adopted: true,
      project: { externalId: first.project.externalId },
    });
    expect(sim.state.projects.get(Number(first.project.externalId))!.label_config).toContain('bird');
    const stale = await backend.ensureProject({
      externalId: '9999',
      title: 'Concurrent',
      labelConfig: changed,
    });
    expect(stale.project.externalId).toBe(first.project.externalId);
    // The create is processed but the answer is lost: the re-check adopts instead of creating twice.
    sim.faults.set({ dropRate: 1, phase: 'after', match: /^\/api\/projects$/, method: 'POST', limit: 1 });
    const result = await backendFor(sim).ensureProject({ title: 'Lost answer', labelConfig: LABEL_CONFIG });
    expect(sim.faults.injected.drops).toBe(1);
    expect([...sim.state.projects.values()].filter((p) => p.title === 'Lost answer')).toHaveLength(1);
    expect(result.project.title).toBe('Lost answer');
  });

  it('with LS enforcing unique titles, a 422 is adopted', async () => {
    await sim.stop();
    sim = await startLabelStudioSimulator({ uniqueTitles: true });
    const original = sim.state.createProject({ title: 'Taken', label_config: LABEL_CONFIG });
    // A race with another process: the first title lookup misses, so the create hits LS's 422.
    let lookups = 0;
    const racing: typeof fetch = async (input, init) => {
      if (String(input).includes('/api/projects/?title=') && lookups++ === 0) {
        return new Response(JSON.stringify({ count: 0, next: null, previous: null, results: [] }), {
          status: 200,
        });
      }
      return fetch(input, init);
    };
    const backend = createLabelStudioBackend(
      labelStudioConfigSchema.parse({ url: sim.url, apiKey: sim.legacyToken, retryBaseDelayMs: 1 }),
      { fetch: racing },
    );
    const result = await backend.ensureProject({ title: 'Taken', labelConfig: LABEL_CONFIG });
    expect(result).toMatchObject({
      created: false,
      adopted: true,
      project: { externalId: String(original.id) },
    });
    expect(lookups).toBe(2);
    expect(sim.state.projects.size).toBe(1);
  });

  it('pull maps annotations to the right sample ids when LS lists tasks in shuffled order', async () => {
    await sim.stop();
    sim = await startLabelStudioSimulator({ shuffleTaskOrder: true });
    const backend = backendFor(sim);
    const { project } = await backend.ensureProject({ title: 'Pull', labelConfig: LABEL_CONFIG });
    const pid = Number(project.externalId);
    const tasks = sim.state.seedTasks(
      pid,
      Array.from({ length: 450 }, (_, i) => ({ data: { image: `${i}` }, meta: { sample_id: `s-${i}` } })),
    );
    for (const task of tasks) {
      const i = Number(String(task.meta.sample_id).slice(2));
      if (i % 3 === 0) sim.state.addAnnotation(task.id, { result: [{ label: `for-s-${i}` }] });
      if (i % 9 === 0) sim.state.addAnnotation(task.id, { result: [{ label: 'skip' }], wasCancelled: true });
      if (i === 4) sim.state.addAnnotation(task.id, { result: [], wasCancelled: true }); // only skipped: not pulled
    }
    const pulled: BackendTask[] = await collect(
      backend.iterateTasks(project.externalId, { onlyAnnotated: true }),
    );
    expect(pulled.map((t) => Number(t.externalTaskId))).not.toEqual(
      pulled.map((t) => Number(t.externalTaskId)).sort((a, b) => a - b),
    );
    expect(pulled).toHaveLength(150);
    for (const task of pulled) {
      const picked = pickAnnotation(task);
      expect(picked?.result).toEqual([{ label: `for-${task.sampleId}` }]);
    }
    const all = await collect(backend.iterateTasks(project.externalId, { pageSize: 40 }));
    expect(all).toHaveLength(450);
    const one = await backend.getTask(project.externalId, pulled[0]!.externalTaskId);
    expect(one?.sampleId).toBe(pulled[0]!.sampleId);
    const other = sim.state.createProject({ title: 'Other' });
    expect(await backend.getTask(String(other.id), pulled[0]!.externalTaskId)).toBeNull();
  });

  it('storages: idempotent by type+role+path/bucket+prefix; source not synced, target synced', async () => {
    const backend = backendFor(sim);
    const { project } = await backend.ensureProject({ title: 'Storages', labelConfig: LABEL_CONFIG });
    const dir = join(sim.documentRoot, 'data');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a.png'), 'x');
    const src = await backend.setupStorage(project.externalId, {
      type: 'local-files',
      role: 'source',
      path: `${dir}/`,
      title: 'src',
    });
    expect(
      (
        await backend.setupStorage(project.externalId, {
          type: 'local-files',
          role: 'source',
          path: dir,
          title: 'src',
        })
      ).storageId,
    ).toBe(src.storageId);
    expect(sim.state.projectTasks.get(Number(project.externalId))).toHaveLength(0); // no sync on source
    const s3 = {
      type: 's3' as const,
      role: 'target' as const,
      title: 'out',
      bucket: 'b',
      prefix: 'ann/',
      accessKeyId: 'AK',
      secretAccessKey: 'SK',
      endpoint: 'https://acc.r2.cloudflarestorage.com',
      region: 'auto',
    };
    const target = await backend.setupStorage(project.externalId, s3);
    expect(target.created).toBe(true);
    expect((await backend.setupStorage(project.externalId, { ...s3, prefix: 'ann' })).created).toBe(false);
    expect((await backend.setupStorage(project.externalId, { ...s3, prefix: 'other' })).created).toBe(true);
    const stored = sim.state.storages.find((s) => s.id === Number(target.storageId))!;
    expect(stored.status).toBe('completed');
    expect(stored.extra).toMatchObject({
      s3_endpoint: 'https://acc.r2.cloudflarestorage.com',
      region_name: 'auto',
    });
    const listed = await backend.listStorages(project.externalId);
    expect(listed.map((s) => `${s.type}/${s.role}`).sort()).toEqual([
      'local-files/source',
      's3/target',
      's3/target',
    ]);
    await expect(
      backend.setupStorage(project.externalId, {
        type: 'local-files',
        role: 'source',
        path: '/etc',
        title: 'x',
      }),
    ).rejects.toMatchObject({ code: 'BACKEND_REJECTED' });
  });

  it('webhooks: idempotent by URL, headers updated on reuse, shared secret delivered', async () => {
    const backend = backendFor(sim);
    const { project } = await backend.ensureProject({ title: 'Hooks', labelConfig: LABEL_CONFIG });
    const setup = {
      url: 'http://127.0.0.1:9999/hook', // Django's URLValidator wants a 2–5 digit port
      headers: { 'X-Labeler-Secret': 'one' },
      events: ['ANNOTATION_CREATED'],
      projectExternalId: project.externalId,
    };
    const first = await backend.registerWebhook(setup);
    const second = await backend.registerWebhook({ ...setup, headers: { 'X-Labeler-Secret': 'two' } });
    expect(second).toEqual({ webhookId: first.webhookId, created: false });
    expect(sim.state.webhooks.size).toBe(1);
    expect(sim.state.webhooks.get(Number(first.webhookId))).toMatchObject({
      headers: { 'X-Labeler-Secret': 'two' },
      actions: ['ANNOTATION_CREATED'],
      send_for_all_actions: false,
    });
    await expect(backend.registerWebhook({ ...setup, projectExternalId: undefined })).rejects.toMatchObject({
      code: 'BACKEND_REJECTED',
    });
  });

  it('diagnose names local-files problems with fixes', async () => {
    const root = sim.documentRoot;
    const off = await backendFor(sim, { documentRoot: root }).diagnose();
    expect(off.ok).toBe(false);
    expect(off.checks.find((c) => c.id === 'local-files-serving')).toMatchObject({
      ok: false,
      fix: expect.stringContaining('LOCAL_FILES_SERVING_ENABLED=true'),
    });
    await sim.stop();
    sim = await startLabelStudioSimulator({ localFiles: { servingEnabled: true, documentRoot: root } });
    const good = await backendFor(sim, { documentRoot: root }).diagnose();
    expect(good).toMatchObject({
      ok: true,
      version: '1.19.0',
      edition: 'Community',
      tokenKind: 'legacy',
      user: { id: 1, email: 'admin@example.com' },
    });
    const wrongRoot = await backendFor(sim, { documentRoot: '/definitely/not/here' }).diagnose();
    expect(wrongRoot.checks.find((c) => c.id === 'document-root')).toMatchObject({
      ok: false,
      fix: expect.stringContaining('LOCAL_FILES_DOCUMENT_ROOT'),
    });
    const unreachable = await backendFor({ ...sim, url: 'http://127.0.0.1:9' }, { maxRetries: 0 }).diagnose();
    expect(unreachable.checks.find((c) => c.id === 'reachable')).toMatchObject({
      ok: false,
      fix: expect.stringContaining('http://127.0.0.1:9'),
    });
  });

  it('Enterprise-style asynchronous import is polled to completion', async () => {
    await sim.stop();
    sim = await startLabelStudioSimulator({ edition: 'Enterprise' });
    const backend = backendFor(sim);
    const { project } = await backend.ensureProject({ title: 'LSE', labelConfig: LABEL_CONFIG });
    const result = await backend.importTasks(project.externalId, [{ sampleId: 'e1', data: { image: 'a' } }]);
    expect(result.created).toBe(1);
    expect(result.taskIds).toHaveLength(1);
  });
});
