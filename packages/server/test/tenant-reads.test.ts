/**
 * Tenant isolation of annotation projects and the audit log (issue 17): an organization's admin reads only
 * projects of datasets it can see (another organization's private dataset's project answers like a missing
 * one), writes only its own organization's, and reads only its own organization's audit events.
 * Org A owns the datasets; org B tries to read and write them.
 */
import type { Principal } from '@labeler/core';
import { type LabelStudioSimulator, startLabelStudioSimulator } from '@labeler/plugin-labelstudio/simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/orm.js';
import { Annotation, AnnotationProject } from '../src/modules/annotation/entities.js';
import { mintLaunchLink } from '../src/modules/annotation/launch.js';
import { DatasetSample } from '../src/modules/datasets/entities.js';
import { JobRecord } from '../src/modules/jobs/entities.js';
import { createTestDatabase } from '../src/testing/database.js';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import { createInternalContext } from '../src/trpc/context.js';
import { appRouter } from '../src/trpc/app-router.js';
import { createCallerFactory } from '../src/trpc/init.js';
import { LABEL_SCHEMA, resultFor } from './annotation-helpers.js';
import {
  createDataset,
  createOrganization,
  createOrgServiceAccount,
  expectEnvelope,
  SYSTEM_ACTOR,
} from './helpers.js';

let server: TestServer;
let sim: LabelStudioSimulator;
let backendId: string;
let orgA: string;
let orgB: string;
const keys: Record<string, string> = {};
/** Org A's private and public datasets and org B's private one, each with one ensured project. */
const ds: Record<'aPrivate' | 'aPublic' | 'bPrivate', string> = { aPrivate: '', aPublic: '', bPrivate: '' };
const prj: Record<'aPrivate' | 'aPublic' | 'bPrivate', string> = { aPrivate: '', aPublic: '', bPrivate: '' };
const external: Record<string, number> = {};

const caller = (principal: Principal) =>
  createCallerFactory(appRouter)(createInternalContext(server.services, principal));
const principalOf = (name: string) => server.services.serviceAccounts.authenticate(keys[name]!);

beforeAll(async () => {
  server = await startTestServer({ workers: false });
  sim = await startLabelStudioSimulator({});
  backendId = (
    await server.services.plugins.create({
      pluginId: 'label-studio',
      name: 'label-studio',
      config: { url: sim.url, apiKey: sim.legacyToken, retryBaseDelayMs: 5, maxRetries: 2 },
    })
  ).id;
  orgA = await createOrganization(server, 'org-a');
  orgB = await createOrganization(server, 'org-b');
  keys.aAdmin = (await createOrgServiceAccount(server, orgA, ['admin'], 'a-admin')).api_key;
  keys.bAdmin = (await createOrgServiceAccount(server, orgB, ['admin'], 'b-admin')).api_key;
  const seeds = [
    ['aPrivate', orgA, 'private'],
    ['aPublic', orgA, 'public'],
    ['bPrivate', orgB, 'private'],
  ] as const;
  const em = server.services.orm.em.fork();
  for (const [name, organization_id, visibility] of seeds) {
    ds[name] = (await createDataset(server, { name, visibility, organization_id })).id;
    em.create(DatasetSample, {
      datasetId: ds[name],
      id: 'smp_0001',
      filepath: 'images/1.jpg',
      width: 100,
      height: 100,
      labels: {},
    });
    const { project } = await server.services.annotation.create(
      {
        dataset_id: ds[name],
        backend_instance_id: backendId,
        name: `${name}-project`,
        label_schema: LABEL_SCHEMA,
      },
      SYSTEM_ACTOR,
    );
    prj[name] = project.id;
    external[name] = Number((await server.services.annotation.ensure(project.id, SYSTEM_ACTOR)).external_id);
  }
  await em.flush();
});
afterAll(async () => {
  await sim?.state.flushWebhooks();
  await server?.stop();
  await sim?.stop();
});

/** A backend task of `name`'s project for its sample, with one submitted annotation. */
function annotatedTask(name: keyof typeof prj): string {
  const task = sim.state.createTask(external[name]!, { image: 'x' }, { sample_id: 'smp_0001' });
  sim.state.insertAnnotation(task, { result: resultFor(1) });
  return String(task.id);
}

describe('annotation.syncTask follows the dataset write rule', () => {
  it("org B's admin cannot pull a task into org A's dataset; org A's admin can", async () => {
    const b = caller(await principalOf('bAdmin'));
    const em = () => server.services.orm.em.fork();
    for (const [name, refusal] of [
      ['aPublic', { code: 'ACCESS_DENIED', status: 403 }],
      ['aPrivate', { code: 'PROJECT_NOT_FOUND', status: 404 }],
    ] as const) {
      const taskId = annotatedTask(name);
      await expect(
        b.annotation.syncTask({ project_id: prj[name], task_id: taskId }),
        name,
      ).rejects.toMatchObject({
        cause: refusal,
      });
      expect(await em().count(Annotation, { projectId: prj[name] }), name).toBe(0);
      const res = await server.request(
        `/api/v1/label-studio/projects/${prj[name]}/tasks/${taskId}/annotations`,
        {
          method: 'POST',
          token: keys.bAdmin!,
          body: {},
        },
      );
      expect(res.status, res.text).toBe(refusal.status);
      expectEnvelope(res.body, refusal.code);
      expect(await em().count(Annotation, { projectId: prj[name] }), name).toBe(0);
    }
    const taskId = annotatedTask('aPublic');
    const a = caller(await principalOf('aAdmin'));
    await expect(a.annotation.syncTask({ project_id: prj.aPublic, task_id: taskId })).resolves.toMatchObject({
      sample_id: 'smp_0001',
      synced: true,
    });
    expect(await em().count(Annotation, { projectId: prj.aPublic })).toBe(1);
  });
});

describe('annotation reads see only projects of datasets the caller can see', () => {
  it("list: org B's admin sees its own and org A's public dataset's project, never the private one", async () => {
    const b = caller(await principalOf('bAdmin'));
    const listed = await b.annotation.list({ limit: 200, offset: 0 });
    expect(listed.projects.map((p) => p.id).sort()).toEqual([prj.aPublic, prj.bPrivate].sort());
    expect(listed.total).toBe(2);
    const filtered = await b.annotation.list({ dataset_id: ds.aPrivate, limit: 200, offset: 0 });
    expect(filtered).toEqual({ total: 0, projects: [] });
    const rest = await server.request('/api/v1/label-studio/projects?limit=200', { token: keys.bAdmin! });
    expect(rest.status, rest.text).toBe(200);
    expect((rest.body as { projects: Array<{ id: string }> }).projects.map((p) => p.id)).not.toContain(
      prj.aPrivate,
    );
    const a = caller(await principalOf('aAdmin'));
    expect((await a.annotation.list({ limit: 200, offset: 0 })).projects.map((p) => p.id).sort()).toEqual(
      [prj.aPrivate, prj.aPublic].sort(),
    );
    const all = await caller(SYSTEM_ACTOR).annotation.list({ limit: 200, offset: 0 });
    expect(all.total).toBe(3);
  });

  it("get, validate, progress, auth-url of org A's private project by org B's admin → 404 PROJECT_NOT_FOUND", async () => {
    const b = caller(await principalOf('bAdmin'));
    const project_id = prj.aPrivate;
    const reads: Array<[string, () => Promise<unknown>]> = [
      ['get', () => b.annotation.get({ project_id })],
      ['validate', () => b.annotation.validate({ project_id })],
      ['progress', () => b.annotation.progress({ project_id })],
      ['authUrl', () => b.annotation.authUrl({ project_id })],
    ];
    for (const [name, read] of reads)
      await expect(read(), name).rejects.toMatchObject({ cause: { code: 'PROJECT_NOT_FOUND', status: 404 } });
    for (const suffix of ['', '/validate', '/progress', '/auth-url']) {
      const res = await server.request(`/api/v1/label-studio/projects/${project_id}${suffix}`, {
        token: keys.bAdmin!,
      });
      expect(res.status, `${suffix}: ${res.text}`).toBe(404);
      expectEnvelope(res.body, 'PROJECT_NOT_FOUND');
    }
    // The same reads of org A's public dataset's project and of its own are answered.
    for (const id of [prj.aPublic, prj.bPrivate]) {
      await expect(b.annotation.get({ project_id: id })).resolves.toMatchObject({ id });
      await expect(b.annotation.validate({ project_id: id })).resolves.toMatchObject({ project_id: id });
      await expect(b.annotation.progress({ project_id: id })).resolves.toMatchObject({ project_id: id });
      await expect(b.annotation.authUrl({ project_id: id })).resolves.toMatchObject({ project_id: id });
    }
    const a = caller(await principalOf('aAdmin'));
    await expect(a.annotation.get({ project_id })).resolves.toMatchObject({ id: project_id });
  });

  it("writes of org A's private project by org B's admin answer like a missing project, nothing started", async () => {
    const b = caller(await principalOf('bAdmin'));
    const project_id = prj.aPrivate;
    const writes: Array<[string, () => Promise<unknown>]> = [
      ['ensure', () => b.annotation.ensure({ project_id })],
      ['importTasks', () => b.annotation.importTasks({ project_id })],
      ['pull', () => b.annotation.pull({ project_id })],
      ['delete', () => b.annotation.delete({ project_id, delete_in_backend: true })],
    ];
    for (const [name, write] of writes)
      await expect(write(), name).rejects.toMatchObject({
        cause: { code: 'PROJECT_NOT_FOUND', status: 404 },
      });
    const em = server.services.orm.em.fork();
    expect(await em.count(JobRecord, { payload: { project_id } })).toBe(0);
    expect(await em.count(AnnotationProject, { id: project_id })).toBe(1);
    expect(sim.state.projects.has(external.aPrivate!)).toBe(true);
  });

  it('a launch link stops working once its project is no longer visible to the issuer', async () => {
    const bAdmin = await principalOf('bAdmin');
    const { url } = await caller(bAdmin).annotation.authUrl({ project_id: prj.aPublic });
    expect((await fetch(url, { redirect: 'manual' })).status).toBe(302);
    const patched = await server.request(`/api/v1/datasets/${ds.aPublic}`, {
      method: 'PATCH',
      body: { visibility: 'private' },
    });
    expect(patched.status, patched.text).toBe(200);
    try {
      const refused = await fetch(url, { redirect: 'manual' });
      expect(refused.status).toBe(404);
      expect(refused.headers.get('location')).toBeNull();
      expectEnvelope(await refused.json(), 'PROJECT_NOT_FOUND');
      // A link minted for org A's admin still opens it.
      const own = mintLaunchLink(server.services, prj.aPublic, await principalOf('aAdmin'));
      expect((await fetch(own.url, { redirect: 'manual' })).status).toBe(302);
    } finally {
      const back = await server.request(`/api/v1/datasets/${ds.aPublic}`, {
        method: 'PATCH',
        body: { visibility: 'public' },
      });
      expect(back.status, back.text).toBe(200);
    }
  });
});

describe('audit.list is scoped to the caller’s organization', () => {
  it("an organization's admin reads its organization's events only; a platform-wide admin reads all", async () => {
    // Org B's admin acts in its organization; org A's admin in its own.
    const bKey = await createOrgServiceAccount(server, orgB, ['datasets:read'], 'b-made');
    await caller(await principalOf('bAdmin')).serviceAccounts.revoke({
      service_account_id: bKey.service_account_id,
    });
    const aMade = await server.request('/api/v1/auth/service-accounts', {
      method: 'POST',
      token: keys.aAdmin!,
      body: { service_name: 'a-made', scopes: ['datasets:read'] },
    });
    expect(aMade.status, aMade.text).toBe(201);
    const aMadeId = (aMade.body as { service_account_id: string }).service_account_id;
    const platformKey = await server.services.serviceAccounts.create(
      { name: 'platform-wide', scopes: ['datasets:read'], organizationId: null },
      SYSTEM_ACTOR,
    );

    type Event = { action: string; target_id: string | null; organization_id: string | null };
    const eventsOf = async (principal: Principal) =>
      (await caller(principal).audit.list({ limit: 200 })).events as Event[];
    const aEvents = await eventsOf(await principalOf('aAdmin'));
    const bEvents = await eventsOf(await principalOf('bAdmin'));
    const all = await eventsOf(SYSTEM_ACTOR);

    // Every kind of row is attributed: datasets, their projects, keys, the organization itself.
    const aTargets = aEvents.map((e) => `${e.action} ${e.target_id}`);
    for (const expected of [
      `dataset.created ${ds.aPrivate}`,
      `dataset.created ${ds.aPublic}`,
      `annotation_project.created ${prj.aPrivate}`,
      `annotation_project.backend_created ${prj.aPublic}`,
      `service_account.created ${aMadeId}`,
      `organization.created ${orgA}`,
    ])
      expect(aTargets).toContain(expected);
    expect(new Set(aEvents.map((e) => e.organization_id))).toEqual(new Set([orgA]));
    expect(new Set(bEvents.map((e) => e.organization_id))).toEqual(new Set([orgB]));
    expect(bEvents.map((e) => `${e.action} ${e.target_id}`)).toEqual(
      expect.arrayContaining([
        `dataset.created ${ds.bPrivate}`,
        `service_account.revoked ${bKey.service_account_id}`,
      ]),
    );
    // Platform-wide rows and the other organization's are only in the full log.
    expect(all.map((e) => `${e.action} ${e.target_id} ${e.organization_id}`)).toContain(
      `service_account.created ${platformKey.service_account_id} null`,
    );
    expect(all.length).toBe(
      aEvents.length + bEvents.length + all.filter((e) => e.organization_id === null).length,
    );
    // Filters cannot reach past the scope.
    const probe = await caller(await principalOf('aAdmin')).audit.list({
      target_id: ds.bPrivate,
      limit: 200,
    });
    expect(probe.events).toEqual([]);
  });
});

describe('Migration20261204192000', () => {
  it("attributes existing audit rows to their target's organization; the rest stay platform-wide", async () => {
    const db = await createTestDatabase('labeler_audit_org');
    const orm = await openDatabase({ databaseUrl: db.url });
    try {
      await orm.migrator.up({ to: 'Migration20261121141343' });
      const sql = (text: string) => orm.em.getConnection().execute(text);
      await sql(
        `insert into "organization" ("id", "name", "slug", "created_at") values ('org_1', 'o', 'o', now())`,
      );
      await sql(
        `insert into "dataset" ("id", "organization_id", "name", "format", "storage_path", "owner_id", "created_at", "updated_at")
         values ('ds_1', 'org_1', 'd', 'coco', 'p', 1, now(), now()), ('ds_2', null, 'e', 'coco', 'q', 1, now(), now())`,
      );
      await sql(
        `insert into "annotation_project" ("id", "dataset_id", "backend_instance_id", "name", "label_schema", "created_at", "updated_at")
         values ('prj_1', 'ds_1', 'pi_1', 'p', '{}', now(), now())`,
      );
      await sql(
        `insert into "service_account" ("id", "name", "organization_id", "key_prefix", "key_hash", "created_at")
         values ('sa_1', 's', 'org_1', 'k', 'h', now())`,
      );
      const rows: Array<[string, string | null, string | null]> = [
        ['ev_1', 'dataset', 'ds_1'],
        ['ev_2', 'dataset', 'ds_2'],
        ['ev_3', 'annotation_project', 'prj_1'],
        ['ev_4', 'service_account', 'sa_1'],
        ['ev_5', 'organization', 'org_1'],
        ['ev_6', 'plugin_instance', 'pi_1'],
        ['ev_7', 'dataset', 'ds_gone'],
        ['ev_8', null, null],
      ];
      for (const [id, type, target] of rows)
        await orm.em
          .getConnection()
          .execute(
            `insert into "audit_event" ("id", "at", "actor_kind", "action", "target_type", "target_id") values (?, now(), 'system', 'x', ?, ?)`,
            [id, type, target],
          );
      await orm.migrator.up();
      const attributed = (await orm.em
        .getConnection()
        .execute(`select "id", "organization_id" from "audit_event" order by "id"`)) as Array<{
        id: string;
        organization_id: string | null;
      }>;
      expect(attributed.map((r) => [r.id, r.organization_id])).toEqual([
        ['ev_1', 'org_1'],
        ['ev_2', null],
        ['ev_3', 'org_1'],
        ['ev_4', 'org_1'],
        ['ev_5', 'org_1'],
        ['ev_6', null],
        ['ev_7', null],
        ['ev_8', null],
      ]);
    } finally {
      await orm.close(true);
      await db.drop();
    }
  });
});
