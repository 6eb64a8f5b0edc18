import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkAnnotationBackendConformance, runAnnotationBackendConformance } from '@labeler/core/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LabelStudioSimulator, startLabelStudioSimulator } from '../src/simulator/index.js';
import { backendFor } from './helpers.js';

const WEBHOOK_URL = 'http://127.0.0.1:9999/labeler/webhook';
/** A local-files mount (pure mapping, no Label Studio call): one file under host_root, one outside it. */
const MEDIA = {
  mount: { host_root: '/srv/datasets', ls_document_root: '/label-studio/data' },
  inside: '/srv/datasets/cats/img 1.jpg',
  outside: '/etc/passwd',
};
let sim: LabelStudioSimulator;
beforeAll(async () => {
  sim = await startLabelStudioSimulator();
  mkdirSync(join(sim.documentRoot, 'conformance'), { recursive: true });
});
afterAll(async () => {
  await sim.stop();
});

const options = () => ({
  name: 'label-studio (simulator)',
  create: async () => backendFor(sim),
  // Label Studio (Django's URLValidator) refuses the kit's default http://127.0.0.1:9/…: one-digit port.
  webhookUrl: WEBHOOK_URL,
  media: MEDIA,
  // As a person would: the annotator's submit goes through LS's own API.
  annotate: async (_project: string, taskId: string, result: unknown[]) => {
    sim.state.addAnnotation(Number(taskId), { result });
  },
  storage: {
    type: 'local-files' as const,
    role: 'source' as const,
    title: 'conformance',
    path: join(sim.documentRoot, 'conformance'),
  },
});

runAnnotationBackendConformance({
  name: 'label-studio (simulator)',
  create: async () => options().create(),
  webhookUrl: WEBHOOK_URL,
  annotate: async (p, t, r) => options().annotate(p, t, r),
  media: MEDIA,
  get storage() {
    return options().storage;
  },
});

it('checkAnnotationBackendConformance returns a passing result per check, and no project is left behind', async () => {
  const results = await checkAnnotationBackendConformance(options());
  expect(results.filter((r) => r.status !== 'passed')).toEqual([]);
  expect(results.length).toBeGreaterThanOrEqual(12);
  expect(sim.state.projects.size).toBe(0);
});

it('the kit reports failures (a backend that duplicates on ensure fails the ensure check)', async () => {
  const results = await checkAnnotationBackendConformance({
    name: 'broken',
    create: async () => {
      const backend = backendFor(sim);
      return {
        ...backend,
        ensureProject: async (input) => ({
          ...(await backend.ensureProject({ ...input, title: `${input.title}-${Math.random()}` })),
          adopted: false,
        }),
      };
    },
  });
  const ensure = results.find((r) => r.id === 'ensure-project-idempotent');
  expect(ensure?.status).toBe('failed');
  expect(results.find((r) => r.id === 'iterate-only-annotated')?.status).toBe('skipped');
});
