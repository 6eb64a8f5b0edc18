/**
 * The contract suite and the annotation-backend conformance suite against a REAL Label Studio 1.7.3.
 * Writes to its SQLite database serialise, so everything real lives in this one file (run serially).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runAnnotationBackendConformance } from '@labeler/core/testing';
import { afterAll, beforeAll } from 'vitest';
import { runLabelStudioContract } from './contract/label-studio.js';
import { type RealLabelStudio, startRealLabelStudio } from './contract/real.js';
import { backendOf, raw } from './contract/target.js';

/** A local-files mount (pure mapping, no Label Studio call): one file under host_root, one outside it. */
const MEDIA = {
  mount: { host_root: '/srv/datasets', ls_document_root: '/label-studio/data' },
  inside: '/srv/datasets/cats/img 1.jpg',
  outside: '/etc/passwd',
};
let ls: RealLabelStudio;
beforeAll(async () => {
  ls = await startRealLabelStudio();
  mkdirSync(join(ls.target.documentRoot, 'conformance'), { recursive: true });
}, 300_000);
afterAll(async () => {
  await ls?.stop();
});

runLabelStudioContract(() => ls.target);

runAnnotationBackendConformance({
  name: 'label-studio (real 1.7.3)',
  create: async () => backendOf(ls.target),
  // Django's URLValidator wants a 2–5 digit port: the kit's default :9 is "Enter a valid URL." on 1.7.
  webhookUrl: 'http://127.0.0.1:9999/labeler/webhook',
  media: MEDIA,
  // As an annotator would: through Label Studio's own API.
  annotate: async (_project, taskId, result) => {
    const answer = await raw(ls.target, 'POST', `/api/tasks/${taskId}/annotations/`, { body: { result } });
    if (answer.status !== 201)
      throw new Error(`annotate answered ${answer.status}: ${answer.text.slice(0, 200)}`);
  },
  get storage() {
    return {
      type: 'local-files' as const,
      role: 'source' as const,
      title: 'conformance',
      path: join(ls.target.documentRoot, 'conformance'),
    };
  },
});
