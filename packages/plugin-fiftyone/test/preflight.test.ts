import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LabelSchema, LabelerError, type Sample } from '@labeler/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assertPreflight, preflight } from '../src/index.js';
import { FakeBackend } from './fake-backend.js';
import { pngBytes, put } from './fixtures.js';

const schema: LabelSchema = {
  controls: [{ type: 'rectangle', name: 'ground_truth', labels: ['car', 'person'] }],
};
let root: string;
let backend: FakeBackend;
let project: string;
let samples: Sample[];
const mount = () => ({ host_root: root, ls_document_root: '/ls/data' });

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'preflight-'));
  await put(join(root, 'imgs/a.png'), pngBytes(4, 4));
  backend = new FakeBackend();
  project = backend.addProject('p', backend.buildLabelConfig(schema));
  backend.storages = [
    { storageId: '1', type: 'local-files', role: 'source', title: 's', path: '/ls/data/imgs' },
  ];
  samples = [
    {
      id: 's1',
      filepath: join(root, 'imgs/a.png'),
      tags: [],
      metadata: {},
      labels: {
        ground_truth: {
          _cls: 'Detections',
          detections: [{ _cls: 'Detection', id: 'l1', label: 'car', bounding_box: [0, 0, 1, 1] }],
        },
      },
    },
  ];
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const run = (overrides: Partial<Parameters<typeof preflight>[0]> = {}) =>
  preflight({ samples, mount: mount(), schema, backend, projectExternalId: project, ...overrides });
const codes = async (overrides: Partial<Parameters<typeof preflight>[0]> = {}) =>
  (await run(overrides)).issues.map((i) => i.code);

describe('preflight', () => {
  it('passes a correct setup', async () => {
    const r = await run();
    expect(r).toMatchObject({ ok: true, checkedSamples: 1, issues: [] });
    expect(() => assertPreflight(r)).not.toThrow();
  });

  it('HOST_ROOT_MISMATCH: file outside the host root, or host root missing', async () => {
    expect(await codes({ mount: { host_root: join(root, 'other'), ls_document_root: '/ls/data' } })).toEqual([
      'HOST_ROOT_MISMATCH',
      'HOST_ROOT_MISMATCH',
    ]);
  });

  it('FILE_MISSING: a sample file that does not exist', async () => {
    samples[0]!.filepath = join(root, 'imgs/gone.png');
    const r = await run();
    expect(r.issues).toEqual([
      expect.objectContaining({ code: 'FILE_MISSING', sampleId: 's1', fix: expect.any(String) }),
    ]);
  });

  it('PATH_OUTSIDE_DOCUMENT_ROOT: the LS-side path is not under LOCAL_FILES_DOCUMENT_ROOT', async () => {
    expect(
      await codes({
        mount: { host_root: root, ls_document_root: '/ls/data', ls_mount_path: '/srv/elsewhere' },
      }),
    ).toContain('PATH_OUTSIDE_DOCUMENT_ROOT');
  });

  it('NO_COVERING_STORAGE: no storage, or one that only shares a name prefix', async () => {
    backend.storages = [
      { storageId: '1', type: 'local-files', role: 'source', title: 's', path: '/ls/data/im' },
    ];
    expect(await codes()).toEqual(['NO_COVERING_STORAGE']);
    backend.storages = [];
    expect(await codes()).toEqual(['NO_COVERING_STORAGE']);
  });

  it('LABEL_NOT_IN_CONFIG: a class the project does not offer, or a missing control', async () => {
    samples[0]!.labels.ground_truth = {
      _cls: 'Detections',
      detections: [{ _cls: 'Detection', id: 'l1', label: 'tractor', bounding_box: [0, 0, 1, 1] }],
    };
    const r = await run();
    expect(r.issues).toEqual([
      expect.objectContaining({
        code: 'LABEL_NOT_IN_CONFIG',
        sampleId: 's1',
        message: expect.stringContaining('tractor'),
      }),
    ]);
    const other = backend.addProject('q', '<View><Image name="image" value="$image"/></View>');
    expect(await codes({ projectExternalId: other })).toContain('LABEL_NOT_IN_CONFIG');
  });

  it('BACKEND_UNREACHABLE / BACKEND_AUTH_FAILED: diagnosis fails before anything else', async () => {
    backend.diagnoseError = new LabelerError('BACKEND_UNAVAILABLE', 'connect ECONNREFUSED');
    expect(await codes()).toEqual(['BACKEND_UNREACHABLE']);
    backend.diagnoseError = new LabelerError('BACKEND_AUTH_FAILED', '401 invalid token');
    expect(await codes()).toEqual(['BACKEND_AUTH_FAILED']);
    backend.diagnoseError = null;
    backend.diagnosis = {
      ok: false,
      version: '1.20.0',
      edition: null,
      user: null,
      tokenKind: null,
      checks: [{ id: 'auth', ok: false, message: 'token rejected' }],
    };
    expect(await codes()).toEqual(['BACKEND_AUTH_FAILED']);
    // A route the backend lacks (the whoami of another version) is not a refused token.
    backend.diagnosis = {
      ok: false,
      version: '1.7.3',
      edition: null,
      user: null,
      tokenKind: 'legacy',
      checks: [
        { id: 'reachable', ok: true, message: 'Label Studio 1.7.3', category: 'connection' },
        {
          id: 'api-route',
          ok: false,
          message: 'Label Studio has no route GET /api/current-user/whoami/ (404)',
          category: 'api',
        },
      ],
    };
    expect(await codes()).toEqual(['BACKEND_UNREACHABLE']);
    const report = await run();
    expect(report.issues[0]?.message).toContain('has no route');
    expect(report.issues[0]?.message).not.toMatch(/token/i);
  });

  it('assertPreflight throws PREFLIGHT_FAILED with the issues', async () => {
    samples[0]!.filepath = join(root, 'imgs/gone.png');
    const r = await run();
    expect(() => assertPreflight(r)).toThrow(expect.objectContaining({ code: 'PREFLIGHT_FAILED' }));
  });
});
