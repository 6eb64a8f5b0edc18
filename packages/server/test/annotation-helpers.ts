/** Shared setup for the annotation tests: a real server, a Label Studio simulator, a dataset with samples. */
import {
  type LabelStudioSimulator,
  type SimulatorOptions,
  startLabelStudioSimulator,
} from '@labeler/plugin-labelstudio/simulator';
import { expect } from 'vitest';
import { DatasetSample } from '../src/modules/datasets/entities.js';
import { startTestServer, type TestServer } from '../src/testing/harness.js';

export const LABEL_SCHEMA = {
  controls: [
    { type: 'rectangle' as const, name: 'detections', labels: ['cat', 'dog'] },
    { type: 'choices' as const, name: 'quality', labels: ['good', 'bad'] },
  ],
};

export interface AnnotationEnv {
  sim: LabelStudioSimulator;
  server: TestServer;
  backendId: string;
  datasetId: string;
  sampleIds: string[];
  stop(): Promise<void>;
}

export async function startAnnotationEnv(
  options: { samples?: number; sim?: SimulatorOptions; apiKey?: (sim: LabelStudioSimulator) => string } = {},
): Promise<AnnotationEnv> {
  const sim = await startLabelStudioSimulator(options.sim ?? {});
  const server = await startTestServer();
  const instance = await server.services.plugins.create({
    pluginId: 'label-studio',
    name: 'label-studio',
    config: {
      url: sim.url,
      apiKey: options.apiKey ? options.apiKey(sim) : sim.legacyToken,
      retryBaseDelayMs: 5,
      maxRetries: 2,
    },
  });
  // Status not asserted here: 201 handling belongs to the datasets module's own tests.
  const created = await server.request('/api/v1/datasets', {
    method: 'POST',
    body: { name: 'pets', format: 'coco', owner_id: 1, visibility: 'public' },
  });
  expect([200, 201], created.text).toContain(created.status);
  const dataset = created.body as { id: string };
  const em = server.services.orm.em.fork();
  const sampleIds: string[] = [];
  for (let i = 0; i < (options.samples ?? 12); i++) {
    const id = `smp_${String(i).padStart(4, '0')}`;
    sampleIds.push(id);
    em.create(DatasetSample, {
      datasetId: dataset.id,
      id,
      filepath: `images/${i}.jpg`,
      width: 100,
      height: 100,
      labels: {},
    });
  }
  await em.flush();
  return {
    sim,
    server,
    backendId: instance.id,
    datasetId: dataset.id,
    sampleIds,
    async stop() {
      await sim.state.flushWebhooks();
      await server.stop();
      await sim.stop();
    },
  };
}

export async function createProject(env: AnnotationEnv, name = 'pets boxes'): Promise<string> {
  const res = await env.server.request('/api/v1/label-studio/projects', {
    method: 'POST',
    body: { dataset_id: env.datasetId, backend_instance_id: env.backendId, name, label_schema: LABEL_SCHEMA },
  });
  expect([200, 201], res.text).toContain(res.status);
  return (res.body as { id: string }).id;
}

/** A rectangle whose x encodes the sample index, and a choice; lets tests check the mapping. */
export function resultFor(index: number, label: 'cat' | 'dog' = 'cat'): unknown[] {
  return [
    {
      id: `r${index}`,
      from_name: 'detections',
      to_name: 'image',
      type: 'rectanglelabels',
      original_width: 100,
      original_height: 100,
      image_rotation: 0,
      value: { x: index, y: 10, width: 20, height: 30, rotation: 0, rectanglelabels: [label] },
    },
    {
      id: `c${index}`,
      from_name: 'quality',
      to_name: 'image',
      type: 'choices',
      value: { choices: [index % 2 === 0 ? 'good' : 'bad'] },
    },
  ];
}

export async function waitUntil<T>(
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
