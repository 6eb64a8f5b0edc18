/**
 * Runs the simulator in its own process for the benchmarks, as a real Label Studio would be: the plugin's
 * CPU and memory are then measured without the server's. Driven over IPC by labelstudio.bench.ts.
 */
import type { FaultOptions } from '../src/simulator/index.js';
import { startLabelStudioSimulator } from '../src/simulator/index.js';

export type SimCommand =
  | { id: number; cmd: 'createProject'; title: string; labelConfig: string }
  | { id: number; cmd: 'seedLabeled'; projectId: number; count: number }
  | { id: number; cmd: 'faults'; options: FaultOptions | null }
  | { id: number; cmd: 'taskCount'; projectId: number }
  | { id: number; cmd: 'stop' };

const sim = await startLabelStudioSimulator();
const send = (message: unknown) => process.send?.(message);

function* labeled(count: number) {
  for (let i = 0; i < count; i++) {
    yield {
      data: { image: `/data/local-files/?d=ds/img-${i}.jpg` },
      meta: { sample_id: `sample-${i}`, labeler: true },
      annotations: [
        {
          result: [
            {
              id: `r${i}`,
              from_name: 'detections',
              to_name: 'image',
              type: 'rectanglelabels',
              original_width: 640,
              original_height: 480,
              value: {
                x: 10,
                y: 20,
                width: 30,
                height: 40,
                rotation: 0,
                rectanglelabels: [i % 2 ? 'cat' : 'dog'],
              },
            },
          ],
        },
      ],
    };
  }
}

process.on('message', async (message: SimCommand) => {
  switch (message.cmd) {
    case 'createProject':
      send({
        id: message.id,
        value: sim.state.createProject({ title: message.title, label_config: message.labelConfig }).id,
      });
      break;
    case 'seedLabeled':
      sim.state.seedTasks(message.projectId, labeled(message.count));
      send({ id: message.id, value: message.count });
      break;
    case 'faults':
      if (message.options) sim.faults.set(message.options);
      else sim.faults.clear();
      send({ id: message.id, value: null });
      break;
    case 'taskCount':
      send({ id: message.id, value: sim.state.projectTasks.get(message.projectId)?.length ?? 0 });
      break;
    case 'stop':
      await sim.stop();
      send({ id: message.id, value: null });
      process.exit(0);
  }
});

send({ ready: true, url: sim.url, legacyToken: sim.legacyToken });
