/**
 * The standing authorization matrix (issue 17): every REST operation of the OpenAPI document and every tRPC
 * procedure of the router × every credential problem, over real HTTP so the real context, auth plugins and
 * scope checks run. The table below says, per procedure, how to build a valid request, which scope it needs
 * and whether it writes a dataset, org A's memberships or a webhook subscription (refused writes must leave
 * them as they were); a route or procedure without an entry fails the suite by name.
 */
import { createServer } from 'node:http';
import { Readable } from 'node:stream';
import type { Scope } from '@labeler/core';
import { type LabelStudioSimulator, startLabelStudioSimulator } from '@labeler/plugin-labelstudio/simulator';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptJson } from '../src/lib/crypto.js';
import { DatasetSample } from '../src/modules/datasets/entities.js';
import { generateServiceAccountKey } from '../src/modules/service-accounts/keys.js';
import { startTestServer, type TestServer } from '../src/testing/harness.js';
import { appRouter } from '../src/trpc/app-router.js';
import { LABEL_SCHEMA } from './annotation-helpers.js';
import {
  createDataset,
  createServiceAccount,
  envelopeProblem,
  expectEnvelope,
  SYSTEM_ACTOR,
} from './helpers.js';

/** Every scope but admin (keys of the credential columns hold some or all of them). */
const DATA_SCOPES = [
  'datasets:read',
  'datasets:download',
  'datasets:permissions',
  'datasets:write',
  'permissions:write',
  'memberships:write',
] as const;
type DataScope = (typeof DATA_SCOPES)[number];

/** Who may call a procedure at all. */
type Access =
  | { kind: 'public' } // no credential needed (sign-in, session)
  | { kind: 'authenticated' } // any valid principal
  | { kind: 'scope'; scopes: readonly DataScope[] } // one of these scopes (the admin scope implies all)
  | { kind: 'admin' }; // the admin scope or a console session

type Expectation =
  | { kind: 'ok' } // < 400
  | { kind: 'admin' } // neither 401/403 nor 5xx: the caller got through to the procedure
  | { kind: 'error'; status: number; code: string; reason?: string; scopes?: readonly string[] }
  | { kind: 'refused'; codes: readonly string[]; statuses?: readonly number[] }; // 403/404 (or statuses), one of codes

interface Fixtures {
  orgA: string;
  orgB: string;
  publicA: string;
  privateA: string;
  jobA: string;
  backendId: string;
  projectA: string;
  /** A backend task of projectA. */
  taskId: string;
  pluginId: string;
  /** Org A's webhook subscription and a platform-wide one (both at the suite's receiver, membership events). */
  webhookA: string;
  webhookPlatform: string;
  /** Subscription id → the secret its create answered (a refused rotation must leave it verifying). */
  webhookSecrets: Map<string, string>;
  keys: Record<string, string>;
  fresh: {
    dataset(visibility?: 'public' | 'private', withFiles?: boolean): Promise<string>;
    serviceAccount(): Promise<string>;
    plugin(): Promise<string>;
    project(): Promise<string>;
    /** A Platform user id no fixture uses. */
    userId(): number;
    /** A fresh member of org A (its user id). */
    member(): Promise<number>;
    name(prefix: string): string;
    /** A fresh subscription (of org A unless null: platform-wide) at the receiver. */
    webhook(organizationId?: string | null): Promise<string>;
    /** A finished (succeeded) delivery of the subscription: an existing one, else one of a fresh event. */
    delivery(subscriptionId: string): Promise<string>;
  };
}

interface Entry {
  access: Access;
  /** A minimal valid input. `dataset` is the dataset to target (fresh for callers expected to succeed). */
  input(fx: Fixtures, dataset: string): Promise<Record<string, unknown>> | Record<string, unknown>;
  /** Writes a dataset (or its files, versions, permissions): refused callers must leave it unchanged. */
  datasetWrite?: boolean;
  /** The target dataset needs a version with files (archive builds). */
  withFiles?: boolean;
  /** Writes org A's memberships: refused callers must leave org A's members unchanged (read back). */
  organizationWrite?: boolean;
  /** Reads or writes one of org A's resources: org B's callers (with any scope) must not reach it. */
  orgTarget?: 'dataset' | 'job' | 'service-account' | 'project' | 'organization' | 'webhook';
  /**
   * Writes a webhook subscription (the target, passed as `dataset`): callers expected to succeed get a fresh
   * one of org A; refused callers aim at org A's (and org B's admin also at the platform one), which must
   * read back unchanged with its secret still verifying.
   */
  webhookWrite?: boolean;
  /** Column → expectation, where the rule for its access kind does not fit. */
  expect?: Partial<Record<Column, Expectation>>;
  /** Column → extra check of an answer the column's expectation accepted (lists, batches, creates, feeds). */
  checks?: Partial<Record<Column, AnswerCheck>>;
  /** The admin column signs a fresh console session in (the procedure ends the session). */
  freshSession?: boolean;
}

type AnswerCheck = (fx: Fixtures, res: Answer, input: Record<string, unknown>) => Promise<string | null>;

const ds = (_fx: Fixtures, dataset: string) => ({ dataset_id: dataset });

/** The job feed answers 200 to anyone with the scope; whose jobs it lists is the thing to check. */
const jobFeed =
  (seen: boolean): AnswerCheck =>
  async (fx, res) => {
    const jobs = (res.data as { jobs?: Array<{ id: string }> } | null)?.jobs;
    if (!Array.isArray(jobs)) return `no jobs list in the answer: ${res.text.slice(0, 200)}`;
    const listed = jobs.some((j) => j.id === fx.jobA);
    if (seen) return listed ? null : "org A's job is missing from the admin's feed";
    return listed ? "org A's job is in the other organization's feed" : null;
  };

/** REST answers are the bare body; tRPC ones carry `result` (its status is not the REST one). */
const isRest = (res: Answer) => (res.body as { result?: unknown } | null)?.result === undefined;

/** The subscription list: the admin sees org A's and the platform one; org B's admin sees neither. */
const webhookList =
  (seen: boolean): AnswerCheck =>
  async (fx, res) => {
    const ids = (res.data as { subscriptions?: Array<{ id: string }> } | null)?.subscriptions?.map(
      (w) => w.id,
    );
    if (!Array.isArray(ids)) return `no subscriptions list in the answer: ${res.text.slice(0, 200)}`;
    const listed = [fx.webhookA, fx.webhookPlatform].filter((id) => ids.includes(id));
    if (seen)
      return listed.length === 2 ? null : "org A's or the platform subscription is missing from the list";
    return listed.length ? `another organization's subscriptions are listed: ${listed.join(', ')}` : null;
  };

/** A create named by its fresh description: made once in org A (then removed), or not at all. */
const webhookCreated =
  (made: boolean): AnswerCheck =>
  async (fx, res, input) => {
    const rows = (await server.services.orm.em
      .getConnection()
      .execute('select id, organization_id from webhook_subscription where description = ?', [
        String(input.description),
      ])) as Array<{ id: string; organization_id: string | null }>;
    if (!made) return rows.length ? 'the subscription was created anyway' : null;
    const body = res.data as { id?: string; secret?: string } | null;
    if (isRest(res) && res.status !== 201) return `expected 201, got ${res.status}`;
    if (rows.length !== 1 || rows[0]!.id !== body?.id || rows[0]!.organization_id !== fx.orgA)
      return `not one subscription of org A: ${JSON.stringify(rows)}`;
    if (!/^whsec_/.test(body.secret ?? '')) return 'no whsec_ secret in the answer';
    // Its URL refuses connections: removed, so that later events queue no retries to it.
    await server.services.webhooks.remove(SYSTEM_ACTOR, body.id);
    return null;
  };

/** Fails on an answer whose body does not satisfy `ok` (the admin's successful webhook writes). */
const answered =
  (
    ok: (data: Record<string, unknown>, input: Record<string, unknown>) => boolean,
    status = 200,
  ): AnswerCheck =>
  async (_fx, res, input) => {
    if (isRest(res) && res.status !== status) return `expected ${status}, got ${res.status}`;
    const data = (res.data ?? {}) as Record<string, unknown>;
    return ok(data, input) ? null : `unexpected answer: ${res.text.slice(0, 300)}`;
  };

const WEBHOOK_ADMIN_OK = { admin: { kind: 'ok' } } as const;
const webhookById = (_fx: Fixtures, subscription: string) => ({ subscription_id: subscription });

const TABLE: Record<string, Entry> = {
  'auth.session': { access: { kind: 'public' }, input: () => ({}) },
  'auth.signIn': {
    access: { kind: 'public' },
    input: () => ({ email: SIGN_IN_EMAIL, password: SIGN_IN_PASSWORD }),
  },
  'auth.signOut': { access: { kind: 'public' }, input: () => ({}), freshSession: true },
  'auth.setLocale': {
    access: { kind: 'authenticated' },
    input: () => ({ locale: 'en' }),
    // Only console users have a language preference; a key gets a clear 400, not a 5xx.
    expect: {
      wrongScope: { kind: 'error', status: 400, code: 'VALIDATION_ERROR' },
      ownScope: { kind: 'error', status: 400, code: 'VALIDATION_ERROR' },
      otherOrg: { kind: 'error', status: 400, code: 'VALIDATION_ERROR' },
    },
  },
  'auth.me': { access: { kind: 'authenticated' }, input: () => ({}) },

  'datasets.get': { access: scope('datasets:read'), input: ds, orgTarget: 'dataset' },
  'datasets.list': {
    access: scope('datasets:read'),
    // Only the two named datasets match (the matrix creates hundreds of others).
    input: () => ({ search: 'matrix-p' }),
    checks: {
      otherOrg: async (fx, res) => {
        const ids = (res.data as { datasets?: Array<{ id: string }> }).datasets?.map((d) => d.id) ?? [];
        if (!ids.includes(fx.publicA)) return 'the public dataset is missing from the list';
        return ids.includes(fx.privateA) ? "org A's private dataset is listed" : null;
      },
    },
  },
  'datasets.permission': {
    access: scope('datasets:permissions'),
    input: (_fx, dataset) => ({ dataset_id: dataset, user_id: '5' }),
    orgTarget: 'dataset',
  },
  'datasets.downloadUrl': {
    access: scope('datasets:download'),
    input: (_fx, dataset) => ({ dataset_id: dataset, expiration_seconds: 600 }),
    orgTarget: 'dataset',
  },
  'datasets.batch': {
    access: scope('datasets:read'),
    input: (fx) => ({ dataset_ids: [fx.privateA, fx.publicA] }),
    checks: {
      otherOrg: async (fx, res) => {
        const body = res.data as { datasets?: Record<string, unknown>; errors?: Record<string, string> };
        if (!body.datasets?.[fx.publicA]) return 'the public dataset is missing from the batch';
        return body.datasets[fx.privateA] || !body.errors?.[fx.privateA]
          ? "org A's private dataset is in the batch"
          : null;
      },
    },
  },
  'datasets.create': {
    access: scope('datasets:write'),
    // Names org A as the dataset's organization: org A's key and the admin may; org B's key may not.
    input: (fx) => ({
      name: fx.fresh.name('created'),
      format: 'coco',
      owner_id: 1,
      visibility: 'private',
      organization_id: fx.orgA,
    }),
    checks: {
      otherOrg: async (_fx, _res, input) =>
        (await datasetsNamed(String(input.name))) > 0 ? 'the dataset was created anyway' : null,
    },
    expect: {
      otherOrg: {
        kind: 'refused',
        statuses: [400, 403, 404],
        codes: ['ACCESS_DENIED', 'DATASET_NOT_FOUND', 'VALIDATION_ERROR', 'ORGANIZATION_NOT_FOUND'],
      },
    },
  },
  'datasets.update': {
    access: scope('datasets:write'),
    input: (_fx, dataset) => ({ dataset_id: dataset, description: 'changed by the matrix' }),
    datasetWrite: true,
    orgTarget: 'dataset',
  },
  'datasets.delete': { access: scope('datasets:write'), input: ds, datasetWrite: true, orgTarget: 'dataset' },
  'datasets.versions': { access: scope('datasets:read'), input: ds, orgTarget: 'dataset' },
  'datasets.createVersion': {
    access: scope('datasets:write'),
    input: (_fx, dataset) => ({ dataset_id: dataset, note: 'matrix' }),
    datasetWrite: true,
    orgTarget: 'dataset',
  },
  'datasets.permissionsList': {
    access: scope('datasets:permissions'),
    input: ds,
    orgTarget: 'dataset',
  },
  // The dataset write rule with permissions:write in place of datasets:write.
  'datasets.grant': {
    access: scope('permissions:write'),
    input: (_fx, dataset) => ({ dataset_id: dataset, user_id: 42, role: 'viewer' }),
    datasetWrite: true,
    orgTarget: 'dataset',
  },
  'datasets.revokePermission': {
    access: scope('permissions:write'),
    input: (_fx, dataset) => ({ dataset_id: dataset, user_id: 30 }),
    datasetWrite: true,
    orgTarget: 'dataset',
  },

  'files.list': { access: scope('datasets:read'), input: ds, orgTarget: 'dataset' },
  'files.requestUploads': {
    access: scope('datasets:write'),
    input: (_fx, dataset) => ({ dataset_id: dataset, files: [{ path: 'images/new.jpg' }] }),
    datasetWrite: true,
    orgTarget: 'dataset',
  },
  'files.completeUploads': {
    access: scope('datasets:write'),
    input: ds,
    datasetWrite: true,
    orgTarget: 'dataset',
  },
  'files.adoptExisting': { access: { kind: 'admin' }, input: ds, datasetWrite: true, orgTarget: 'dataset' },
  'files.buildArchive': {
    access: { kind: 'admin' },
    input: ds,
    datasetWrite: true,
    withFiles: true,
    orgTarget: 'dataset',
  },

  'serviceAccounts.create': {
    access: { kind: 'admin' },
    input: (fx) => ({ service_name: fx.fresh.name('sa'), scopes: ['datasets:read'] }),
  },
  'serviceAccounts.list': { access: { kind: 'admin' }, input: () => ({}) },
  'serviceAccounts.revoke': {
    access: { kind: 'admin' },
    input: async (fx) => ({ service_account_id: await fx.fresh.serviceAccount() }),
    orgTarget: 'service-account',
  },
  'serviceAccounts.rotate': {
    access: { kind: 'admin' },
    input: async (fx) => ({ service_account_id: await fx.fresh.serviceAccount(), overlap_seconds: 60 }),
    orgTarget: 'service-account',
  },

  'plugins.definitions': { access: { kind: 'admin' }, input: () => ({}) },
  'plugins.list': { access: { kind: 'admin' }, input: () => ({}) },
  'plugins.get': { access: { kind: 'admin' }, input: (fx) => ({ id: fx.pluginId }) },
  'plugins.create': {
    access: { kind: 'admin' },
    input: (fx) => ({ plugin_id: 'local-disk', name: fx.fresh.name('disk'), config: { root: 'matrix' } }),
  },
  'plugins.update': {
    access: { kind: 'admin' },
    input: (fx) => ({ id: fx.pluginId, name: fx.fresh.name('disk') }),
  },
  'plugins.setDefault': { access: { kind: 'admin' }, input: (fx) => ({ id: fx.pluginId }) },
  'plugins.remove': { access: { kind: 'admin' }, input: async (fx) => ({ id: await fx.fresh.plugin() }) },
  'plugins.checkHealth': { access: { kind: 'admin' }, input: (fx) => ({ id: fx.pluginId }) },
  'plugins.test': {
    access: { kind: 'admin' },
    input: () => ({ plugin_id: 'local-disk', config: { root: 'matrix-test' } }),
  },

  'organizations.list': { access: { kind: 'admin' }, input: () => ({}) },
  'organizations.create': {
    access: { kind: 'admin' },
    input: (fx) => ({ name: 'New org', slug: fx.fresh.name('org').toLowerCase() }),
  },
  // An organization's key acts in its own organization only: org B's keys get 403 ACCESS_DENIED.
  'organizations.members': {
    access: scope('datasets:permissions'),
    input: (fx) => ({ organization_id: fx.orgA }),
    orgTarget: 'organization',
  },
  // A fresh user per request, so that a wrongly allowed add shows in org A's members.
  'organizations.setMember': {
    access: scope('memberships:write'),
    input: (fx) => ({ organization_id: fx.orgA, user_id: fx.fresh.userId(), role: 'member' }),
    organizationWrite: true,
    orgTarget: 'organization',
  },
  // A fresh member per request, so that a wrongly allowed removal shows in org A's members.
  'organizations.removeMember': {
    access: scope('memberships:write'),
    input: async (fx) => ({ organization_id: fx.orgA, user_id: await fx.fresh.member() }),
    organizationWrite: true,
    orgTarget: 'organization',
  },

  'audit.list': { access: { kind: 'admin' }, input: () => ({}) },

  'jobs.list': { access: { kind: 'admin' }, input: () => ({}) },
  // Readable by admins, by the principal that started it, and (archive builds) by download keys of the
  // dataset's organization; anyone else gets the answer of a missing job.
  'jobs.get': {
    access: { kind: 'authenticated' },
    input: (fx) => ({ job_id: fx.jobA }),
    orgTarget: 'job',
    expect: {
      ownScope: { kind: 'ok' },
      wrongScope: { kind: 'refused', codes: ['JOB_NOT_FOUND', 'INSUFFICIENT_SCOPE'] },
    },
  },
  'jobs.cancel': { access: { kind: 'admin' }, input: (fx) => ({ job_id: fx.jobA }), orgTarget: 'job' },
  'jobs.retry': { access: { kind: 'admin' }, input: (fx) => ({ job_id: fx.jobA }), orgTarget: 'job' },
  // Batch feeds: another organization's admin gets 200 with org A's job filtered out (no leak, no 404).
  'jobs.progress': {
    access: { kind: 'admin' },
    input: (fx) => ({ ids: [fx.jobA] }),
    orgTarget: 'job',
    expect: { otherOrgAdmin: { kind: 'ok' } },
    checks: { admin: jobFeed(true), otherOrgAdmin: jobFeed(false) },
  },
  'jobs.watch': {
    access: { kind: 'admin' },
    input: (fx) => ({ ids: [fx.jobA] }),
    orgTarget: 'job',
    expect: { otherOrgAdmin: { kind: 'ok' } },
    checks: { admin: jobFeed(true), otherOrgAdmin: jobFeed(false) },
  },

  'annotation.list': { access: { kind: 'admin' }, input: () => ({}) },
  'annotation.get': {
    access: { kind: 'admin' },
    input: (fx) => ({ project_id: fx.projectA }),
    orgTarget: 'project',
  },
  'annotation.create': {
    access: { kind: 'admin' },
    input: (fx, dataset) => ({
      dataset_id: dataset,
      backend_instance_id: fx.backendId,
      name: fx.fresh.name('project'),
      label_schema: LABEL_SCHEMA,
    }),
    datasetWrite: true,
    orgTarget: 'dataset',
  },
  'annotation.delete': {
    access: { kind: 'admin' },
    input: async (fx) => ({ project_id: await fx.fresh.project() }),
    orgTarget: 'project',
  },
  'annotation.ensure': {
    access: { kind: 'admin' },
    input: (fx) => ({ project_id: fx.projectA }),
    orgTarget: 'project',
  },
  'annotation.validate': {
    access: { kind: 'admin' },
    input: (fx) => ({ project_id: fx.projectA }),
    orgTarget: 'project',
  },
  'annotation.importTasks': {
    access: { kind: 'admin' },
    input: (fx) => ({ project_id: fx.projectA }),
    orgTarget: 'project',
  },
  'annotation.pull': {
    access: { kind: 'admin' },
    input: (fx) => ({ project_id: fx.projectA }),
    orgTarget: 'project',
  },
  'annotation.syncTask': {
    access: { kind: 'admin' },
    input: (fx) => ({ project_id: fx.projectA, task_id: fx.taskId }),
    orgTarget: 'project',
  },
  'annotation.authUrl': {
    access: { kind: 'admin' },
    input: (fx) => ({ project_id: fx.projectA }),
    orgTarget: 'project',
  },
  'annotation.progress': {
    access: { kind: 'admin' },
    input: (fx) => ({ project_id: fx.projectA }),
    orgTarget: 'project',
  },

  // Outbound webhooks: admin scope; org B's admin gets 404 for org A's and for platform-wide subscriptions.
  'webhooks.list': {
    access: { kind: 'admin' },
    input: () => ({}),
    orgTarget: 'webhook',
    expect: { ...WEBHOOK_ADMIN_OK, otherOrgAdmin: { kind: 'ok' } },
    checks: { admin: webhookList(true), otherOrgAdmin: webhookList(false) },
  },
  // Names org A: the platform admin may; org B's admin may not. Every refused create must create nothing.
  'webhooks.create': {
    access: { kind: 'admin' },
    input: (fx) => ({
      url: 'http://127.0.0.1:9/h',
      events: ['dataset.created'],
      organization_id: fx.orgA,
      description: fx.fresh.name('wh-created'),
    }),
    orgTarget: 'webhook',
    expect: {
      ...WEBHOOK_ADMIN_OK,
      otherOrgAdmin: { kind: 'error', status: 403, code: 'ACCESS_DENIED', reason: 'other_organization' },
    },
    checks: {
      admin: webhookCreated(true),
      none: webhookCreated(false),
      malformed: webhookCreated(false),
      unknown: webhookCreated(false),
      revoked: webhookCreated(false),
      expired: webhookCreated(false),
      wrongScope: webhookCreated(false),
      otherOrg: webhookCreated(false),
      otherOrgAdmin: webhookCreated(false),
    },
  },
  'webhooks.get': {
    access: { kind: 'admin' },
    input: webhookById,
    orgTarget: 'webhook',
    expect: WEBHOOK_ADMIN_OK,
    checks: { admin: answered((d, input) => d.id === input.subscription_id && d.enabled === true) },
  },
  'webhooks.update': {
    access: { kind: 'admin' },
    input: (_fx, subscription) => ({ subscription_id: subscription, enabled: false }),
    orgTarget: 'webhook',
    webhookWrite: true,
    expect: WEBHOOK_ADMIN_OK,
    checks: { admin: answered((d, input) => d.id === input.subscription_id && d.enabled === false) },
  },
  'webhooks.delete': {
    access: { kind: 'admin' },
    input: webhookById,
    orgTarget: 'webhook',
    webhookWrite: true,
    expect: WEBHOOK_ADMIN_OK,
    checks: { admin: answered((d) => d.deleted === true) },
  },
  'webhooks.rotateSecret': {
    access: { kind: 'admin' },
    input: webhookById,
    orgTarget: 'webhook',
    webhookWrite: true,
    expect: WEBHOOK_ADMIN_OK,
    checks: {
      admin: async (fx, res, input) =>
        answered(
          (d) =>
            d.id === input.subscription_id &&
            typeof d.secret === 'string' &&
            d.secret.startsWith('whsec_') &&
            d.secret !== fx.webhookSecrets.get(String(input.subscription_id)),
        )(fx, res, input),
    },
  },
  'webhooks.deliveries': {
    access: { kind: 'admin' },
    input: (_fx, subscription) => ({ subscription_id: subscription, limit: 10 }),
    orgTarget: 'webhook',
    expect: WEBHOOK_ADMIN_OK,
    checks: {
      admin: answered((d) => {
        const list = d.deliveries as Array<{ id: string }> | undefined;
        return Array.isArray(list) && list.length >= 1 && list.length <= 10;
      }),
    },
  },
  // A finished delivery of the target (a fresh subscription's for the admin, whose replay succeeds).
  'webhooks.replay': {
    access: { kind: 'admin' },
    input: async (fx, subscription) => ({
      subscription_id: subscription,
      delivery_id: await fx.fresh.delivery(subscription),
    }),
    orgTarget: 'webhook',
    webhookWrite: true,
    expect: WEBHOOK_ADMIN_OK,
    checks: {
      admin: answered(
        (d, input) =>
          d.delivery_id === input.delivery_id && Number(d.attempt) >= 2 && typeof d.job_id === 'string',
        202,
      ),
    },
  },
};

function scope(...scopes: DataScope[]): Access {
  return { kind: 'scope', scopes };
}

/**
 * The credential columns. ownScope: org A's key holding exactly the route's scope(s); otherOrgAdmin: org B's
 * key with the admin scope, against org A's resources; noCsrf: a console session without its CSRF header;
 * revokedReplay: a REST write sent with an Idempotency-Key by a key that is then revoked, and sent again.
 */
const COLUMNS = [
  'none',
  'malformed',
  'unknown',
  'revoked',
  'expired',
  'wrongScope',
  'otherOrg',
  'admin',
  'ownScope',
  'otherOrgAdmin',
  'noCsrf',
  'revokedReplay',
] as const;
type Column = (typeof COLUMNS)[number];

const SIGN_IN_EMAIL = 'matrix-sign-in@example.test';
const SIGN_IN_PASSWORD = 'matrix sign-in password';

interface Answer {
  status: number;
  /** The procedure's result (tRPC `result.data`, or the REST body) on success. */
  data: unknown;
  body: unknown;
  text: string;
}

interface Transport {
  kind: 'rest' | 'trpc';
  /** e.g. `REST PATCH /datasets/{dataset_id}` or `tRPC datasets.update`. */
  label: string;
  procedure: string;
  method: string;
  path?: string;
  type: 'query' | 'mutation' | 'subscription';
}

let server: TestServer;
let sim: LabelStudioSimulator;
let fx: Fixtures;
let session: { cookie: string; csrf: string };
/** The webhook receiver: answers 204 to every delivery, so deliveries finish and can be replayed. */
const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.statusCode = 204;
    res.end();
  });
});
const totals = { requests: 0, wrong: 0, fivexx: 0 };
const wrongAnswers: string[] = [];
let counter = 0;

const RATE_ENV = {
  LABELER_RATE_LIMIT_PER_ACCOUNT: '1000000',
  LABELER_RATE_LIMIT_PER_DATASET: '1000000',
  // The per-IP budget of requests without a valid credential (every such column comes from 127.0.0.1).
  LABELER_UNAUTHENTICATED_PER_IP: '1000000',
};

async function datasetsNamed(name: string): Promise<number> {
  const rows = await server.services.orm.em
    .getConnection()
    .execute('select count(*)::int as n from dataset where name = ?', [name]);
  return Number((rows[0] as { n: number }).n);
}

async function signInSession(email: string, password: string): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${server.url}/trpc/auth.signIn`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = (await res.json()) as { result: { data: { csrf_token: string } } };
  expect(res.status, JSON.stringify(body)).toBe(200);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('labeler_session='))!;
  return { cookie: cookie.split(';')[0]!, csrf: body.result.data.csrf_token };
}

beforeAll(async () => {
  sim = await startLabelStudioSimulator({});
  server = await startTestServer({ env: RATE_ENV });
  const s = server.services;
  const orgA = (await s.organizations.create('Org A', 'matrix-a', SYSTEM_ACTOR)).id;
  const orgB = (await s.organizations.create('Org B', 'matrix-b', SYSTEM_ACTOR)).id;
  const key = async (name: string, scopes: Scope[], organizationId: string | null) =>
    (await s.serviceAccounts.create({ name, scopes, organizationId }, SYSTEM_ACTOR)).api_key;
  const keys: Record<string, string> = {};
  keys.fullA = await key('a-full', [...DATA_SCOPES], orgA);
  keys.revoked = await key('a-revoked', [...DATA_SCOPES], orgA);
  keys.expired = await key('a-expired', [...DATA_SCOPES], orgA);
  keys.otherOrg = await key('b-full', [...DATA_SCOPES], orgB);
  // A platform-wide key (no organization), as the Platform's own key is.
  keys.platform = await key('platform', [...DATA_SCOPES], null);
  keys.otherOrgAdmin = await key('b-admin', ['admin'], orgB);
  const conn = s.orm.em.getConnection();
  await conn.execute(`update service_account set revoked_at = now() where name = 'a-revoked'`);
  await conn.execute(
    `update service_account set expires_at = now() - interval '1 minute' where name = 'a-expired'`,
  );
  await s.serviceAccounts.invalidateKeys();
  await s.adminUsers.create({ email: SIGN_IN_EMAIL, password: SIGN_IN_PASSWORD }, null);

  const publicA = (
    await createDataset(server, { name: 'matrix-public-a', visibility: 'public', organization_id: orgA })
  ).id;
  const privateA = (
    await createDataset(server, { name: 'matrix-private-a', visibility: 'private', organization_id: orgA })
  ).id;
  await s.datasets.grant(privateA, 30, 'viewer', SYSTEM_ACTOR);
  await s.datasets.grant(publicA, 30, 'viewer', SYSTEM_ACTOR);
  const addFiles = async (id: string) => {
    async function* source() {
      const data = Buffer.from('fake-jpeg');
      yield { path: 'images/0001.jpg', open: () => Readable.from([data]), size: data.length };
    }
    await s.storageFiles.importFiles(id, source(), null);
  };
  for (const id of [publicA, privateA]) await addFiles(id);
  // An archive job of org A's private dataset, started by org A's key.
  const started = await fetch(`${server.url}/api/v1/datasets/${privateA}/download-url`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.fullA}`, 'content-type': 'application/json' },
    body: JSON.stringify({ expiration_seconds: 600 }),
  });
  const startedBody = (await started.json()) as { job_id: string };
  expect(started.status, JSON.stringify(startedBody)).toBe(202);
  const jobA = startedBody.job_id;
  await s.jobs.waitFor(jobA, 30_000);

  const backendId = (
    await s.plugins.create({
      pluginId: 'label-studio',
      name: 'label-studio',
      config: { url: sim.url, apiKey: sim.legacyToken, retryBaseDelayMs: 5, maxRetries: 2 },
    })
  ).id;
  const newProject = async (name: string) =>
    (
      await s.annotation.create(
        { dataset_id: privateA, backend_instance_id: backendId, name, label_schema: LABEL_SCHEMA },
        SYSTEM_ACTOR,
      )
    ).project.id;
  const projectA = await newProject('matrix project');
  // One sample imported as a backend task, so that syncing a task reaches a real one.
  const em = s.orm.em.fork();
  em.create(DatasetSample, {
    datasetId: privateA,
    id: 'smp_matrix',
    filepath: 'images/0001.jpg',
    width: 10,
    height: 10,
    labels: {},
  });
  await em.flush();
  const ensured = await s.annotation.ensure(projectA, SYSTEM_ACTOR);
  await s.annotation.startImport(projectA, { actor: SYSTEM_ACTOR, sync: true });
  const taskId = String(sim.state.projectTasks.get(Number(ensured.external_id))![0]!.id);
  const newPlugin = async (name: string) =>
    (await s.plugins.create({ pluginId: 'local-disk', name, config: { root: name } })).id;
  const pluginId = await newPlugin('matrix-disk');
  const name = (prefix: string) => `${prefix}-${++counter}-${Date.now().toString(36)}`;

  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  const webhookSecrets = new Map<string, string>();
  const newWebhook = async (organizationId: string | null) => {
    const created = await s.webhooks.create(
      { url: receiverUrl, events: ['membership.changed'], organization_id: organizationId },
      SYSTEM_ACTOR,
    );
    webhookSecrets.set(created.id, created.secret);
    return created.id;
  };
  const webhookA = await newWebhook(orgA);
  const webhookPlatform = await newWebhook(null);
  const finishedDelivery = async (subscriptionId: string) => {
    const find = async () =>
      (
        (await conn.execute(
          `select id from webhook_delivery where subscription_id = ? and state = 'succeeded'
           order by created_at, id limit 1`,
          [subscriptionId],
        )) as Array<{ id: string }>
      )[0]?.id;
    const existing = await find();
    if (existing) return existing;
    // A new member of org A: a membership.changed event for org A's and the platform's subscriptions.
    await s.organizations.setMember(orgA, 10_000 + ++counter, 'member', SYSTEM_ACTOR);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const id = await find();
      if (id) return id;
      if (Date.now() > deadline) throw new Error(`no finished delivery of ${subscriptionId} within 30 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  fx = {
    orgA,
    orgB,
    publicA,
    privateA,
    jobA,
    backendId,
    projectA,
    taskId,
    pluginId,
    webhookA,
    webhookPlatform,
    webhookSecrets,
    keys,
    fresh: {
      name,
      webhook: (organizationId = orgA) => newWebhook(organizationId),
      delivery: finishedDelivery,
      dataset: async (visibility = 'public', withFiles = false) => {
        const id = (await createDataset(server, { name: name('fresh'), visibility, organization_id: orgA }))
          .id;
        // User 30's permission is there to be revoked (a refused revoke must leave it).
        await s.datasets.grant(id, 30, 'viewer', SYSTEM_ACTOR);
        if (withFiles) await addFiles(id);
        return id;
      },
      serviceAccount: async () =>
        (
          await s.serviceAccounts.create(
            { name: name('fresh-sa'), scopes: ['datasets:read'], organizationId: orgA },
            SYSTEM_ACTOR,
          )
        ).service_account_id,
      plugin: () => newPlugin(name('disk')),
      project: () => newProject(name('project')),
      userId: () => 10_000 + ++counter,
      member: async () => {
        const userId = 10_000 + ++counter;
        await s.organizations.setMember(orgA, userId, 'member', SYSTEM_ACTOR);
        return userId;
      },
    },
  };
  for (const s1 of DATA_SCOPES) keys[`only:${s1}`] = await key(`a-only-${s1}`, [s1], orgA);
  session = await signInSession(server.adminEmail, server.adminPassword);
  // Both fixture subscriptions have a finished delivery, and their secrets verify (the check can pass).
  for (const id of [webhookA, webhookPlatform]) {
    await finishedDelivery(id);
    expect(JSON.parse(await webhookSnapshot(id, {})).secret_verifies).toBe(true);
  }
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await sim?.stop();
  if (receiver.listening) {
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  }
});

/** The key for a column, per entry (wrong scope: every data scope but the route's). */
async function credentialFor(
  entry: Entry,
  column: Column,
  transport: Transport,
): Promise<Record<string, string> | Array<Record<string, string>> | null> {
  const bearer = (k: string) => ({ authorization: `Bearer ${k}` });
  const orgKey = async (scopes: readonly Scope[]) =>
    (
      await server.services.serviceAccounts.create(
        { name: fx.fresh.name('matrix-key'), scopes: [...scopes], organizationId: fx.orgA },
        SYSTEM_ACTOR,
      )
    ).api_key;
  const consoleOnly = !transport.path && transport.kind === 'trpc' && !openapiPathOf(transport.procedure);
  switch (column) {
    case 'none':
      return {};
    case 'malformed':
      return [bearer('lbl_sa_tooshort'), { authorization: 'Basic dXNlcjpwYXNz' }];
    case 'unknown':
      return bearer(generateServiceAccountKey().key);
    case 'revoked':
      return bearer(fx.keys.revoked!);
    case 'expired':
      return bearer(fx.keys.expired!);
    case 'wrongScope': {
      const { access } = entry;
      if (access.kind === 'scope')
        return bearer(await orgKey(DATA_SCOPES.filter((s) => !access.scopes.includes(s))));
      return bearer(fx.keys['only:datasets:read']!);
    }
    case 'ownScope': {
      const { access } = entry;
      if (access.kind === 'scope') return bearer(await orgKey(access.scopes));
      if (access.kind === 'authenticated') return bearer(fx.keys.fullA!);
      return null;
    }
    case 'otherOrg':
      return bearer(fx.keys.otherOrg!);
    case 'otherOrgAdmin':
      return entry.orgTarget ? bearer(fx.keys.otherOrgAdmin!) : null;
    case 'admin': {
      if (!consoleOnly) return bearer(server.adminToken);
      const s = entry.freshSession ? await signInSession(server.adminEmail, server.adminPassword) : session;
      return { cookie: s.cookie, 'x-csrf-token': s.csrf };
    }
    case 'noCsrf':
      return consoleOnly && transport.type === 'mutation' && entry.access.kind !== 'public'
        ? { cookie: session.cookie }
        : null;
    case 'revokedReplay':
      return null; // runs in replayCell
  }
}

function expectationFor(entry: Entry, column: Column): Expectation {
  const override = entry.expect?.[column];
  if (override) return override;
  const { access } = entry;
  if (access.kind === 'public') return { kind: 'ok' };
  const unauth = (reason?: string): Expectation => ({
    kind: 'error',
    status: 401,
    code: 'UNAUTHENTICATED',
    ...(reason ? { reason } : {}),
  });
  switch (column) {
    case 'none':
      return unauth();
    case 'malformed':
      return unauth('malformed');
    case 'unknown':
      return unauth('unknown_key');
    case 'revoked':
      return unauth('revoked');
    case 'expired':
      return unauth('expired');
    case 'wrongScope':
      if (access.kind === 'authenticated') return { kind: 'ok' };
      return {
        kind: 'error',
        status: 403,
        code: 'INSUFFICIENT_SCOPE',
        scopes: access.kind === 'scope' ? access.scopes : ['admin'],
      };
    case 'ownScope':
      return { kind: 'ok' };
    case 'otherOrg':
      if (access.kind === 'admin')
        return { kind: 'error', status: 403, code: 'INSUFFICIENT_SCOPE', scopes: ['admin'] };
      if (entry.orgTarget === 'dataset')
        return entry.datasetWrite
          ? { kind: 'refused', codes: ['DATASET_NOT_FOUND', 'ACCESS_DENIED'] }
          : { kind: 'error', status: 404, code: 'DATASET_NOT_FOUND' };
      if (entry.orgTarget === 'job') return { kind: 'error', status: 404, code: 'JOB_NOT_FOUND' };
      if (entry.orgTarget === 'organization') return { kind: 'error', status: 403, code: 'ACCESS_DENIED' };
      return { kind: 'ok' };
    case 'otherOrgAdmin':
      if (entry.orgTarget === 'organization') return { kind: 'error', status: 403, code: 'ACCESS_DENIED' };
      if (entry.orgTarget === 'webhook') return { kind: 'error', status: 404, code: 'NOT_FOUND' };
      return {
        kind: 'refused',
        codes: {
          dataset: ['DATASET_NOT_FOUND', 'ACCESS_DENIED'],
          job: ['JOB_NOT_FOUND'],
          'service-account': ['SERVICE_ACCOUNT_NOT_FOUND', 'ACCESS_DENIED'],
          project: ['PROJECT_NOT_FOUND', 'ACCESS_DENIED'],
        }[entry.orgTarget ?? 'dataset'],
      };
    case 'admin':
      return { kind: 'admin' };
    case 'noCsrf':
      return { kind: 'error', status: 403, code: 'CSRF_TOKEN_INVALID' };
    case 'revokedReplay':
      return unauth('revoked');
  }
}

let openapiPaths: Map<string, { method: string; path: string }>;
function openapiPathOf(procedure: string) {
  return openapiPaths.get(procedure);
}

async function send(transport: Transport, input: Record<string, unknown>, headers: Record<string, string>) {
  let url: string;
  let init: RequestInit;
  if (transport.kind === 'rest') {
    const rest = { ...input };
    const path = transport.path!.replace(/\{(\w+)\}/g, (_m, name: string) => {
      const value = String(rest[name]);
      delete rest[name];
      return encodeURIComponent(value);
    });
    const query = new URLSearchParams(
      Object.entries(rest).map(([k, v]): [string, string] => [
        k,
        typeof v === 'string' ? v : JSON.stringify(v),
      ]),
    ).toString();
    const hasBody = ['POST', 'PATCH', 'PUT'].includes(transport.method);
    url = `${server.url}/api/v1${path}${!hasBody && query ? `?${query}` : ''}`;
    init = {
      method: transport.method,
      headers: { ...headers, ...(hasBody ? { 'content-type': 'application/json' } : {}) },
      ...(hasBody ? { body: JSON.stringify(rest) } : {}),
    };
  } else if (transport.type === 'mutation') {
    url = `${server.url}/trpc/${transport.procedure}`;
    init = {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(input),
    };
  } else {
    url = `${server.url}/trpc/${transport.procedure}?input=${encodeURIComponent(JSON.stringify(input))}`;
    init = { method: 'GET', headers };
  }
  const abort = new AbortController();
  const res = await fetch(url, { ...init, signal: abort.signal });
  let text: string;
  let status = res.status;
  let body: unknown = null;
  if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    // A subscription answers 200 and streams; tRPC's SSE protocol sends a failure as a `serialized-error`
    // event carrying the error's shape. Read up to the first event after `connected`, then hang up.
    text = await firstEvent(res.body!);
    abort.abort();
    const error = /event: serialized-error\ndata: (.*)\n/.exec(text);
    if (error) {
      const shape = JSON.parse(error[1]!) as { data: { httpStatus: number } };
      status = shape.data.httpStatus;
      body = { error: shape };
    } else {
      const data = /^data: (\{.*\})$/m.exec(text.replace(/event: connected\ndata: \{\}\n/, ''));
      body = data ? { result: { data: JSON.parse(data[1]!) } } : null;
    }
  } else {
    text = await res.text();
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
  }
  const data =
    transport.kind === 'trpc' ? (body as { result?: { data?: unknown } } | null)?.result?.data : body;
  return { status, body, data, text };
}

async function firstEvent(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const afterConnected = () => text.replace(/^event: connected\ndata: \{\}\n\n\n?/, '');
  while (!/^(event|data): [^\n]*\n[\s\S]*?\n\n/.test(afterConnected()) || afterConnected() === text) {
    const chunk = await reader.read();
    if (chunk.done) break;
    text += decoder.decode(chunk.value, { stream: true });
  }
  return text;
}

/** The error code an answer carries: the REST envelope's, or tRPC's `error.data.labeler.code`. */
function errorOf(transport: Transport, res: Answer): { code?: string; details?: Record<string, unknown> } {
  if (transport.kind === 'rest') {
    const e = (res.body as { error?: { code?: string; details?: Record<string, unknown> } } | null)?.error;
    return { ...(e?.code ? { code: e.code } : {}), ...(e?.details ? { details: e.details } : {}) };
  }
  const labeler = (
    res.body as { error?: { data?: { labeler?: { code: string; details: Record<string, unknown> } } } }
  )?.error?.data?.labeler;
  return { ...(labeler ? { code: labeler.code, details: labeler.details } : {}) };
}

/** Null when the answer is what the column expects; else why not. */
function judge(transport: Transport, expected: Expectation, res: Answer): string | null {
  if (res.status >= 500) return `5xx ${res.status}`;
  if (/\bat .+\.(ts|js):\d+/.test(res.text)) return 'stack trace in the body';
  if (res.status >= 400) {
    if (transport.kind === 'rest') {
      const problem = envelopeProblem(res.body);
      if (problem) return `not the error envelope (${problem}): ${res.text.slice(0, 200)}`;
    } else if (!errorOf(transport, res).code) return `no error.data.labeler.code: ${res.text.slice(0, 200)}`;
  }
  const { code, details } = errorOf(transport, res);
  switch (expected.kind) {
    case 'ok':
      return res.status < 400 ? null : `expected success, got ${res.status} ${code}`;
    case 'admin':
      return res.status === 401 || res.status === 403 ? `admin refused: ${res.status} ${code}` : null;
    case 'refused':
      return (expected.statuses ?? [403, 404]).includes(res.status) && expected.codes.includes(code ?? '')
        ? null
        : `expected ${(expected.statuses ?? [403, 404]).join('/')} ${expected.codes.join('|')}, got ${res.status} ${code ?? ''}`;
    case 'error': {
      if (res.status !== expected.status || code !== expected.code)
        return `expected ${expected.status} ${expected.code}, got ${res.status} ${code ?? ''}`;
      if (expected.reason && details?.reason !== expected.reason)
        return `expected reason ${expected.reason}, got ${String(details?.reason)}`;
      if (expected.scopes && !expected.scopes.includes(String(details?.required_scope)))
        return `expected required_scope ${expected.scopes.join('|')}, got ${String(details?.required_scope)}`;
      return null;
    }
  }
}

/** What a dataset write could change: the dataset, its versions, its permissions. */
async function snapshot(datasetId: string): Promise<string> {
  const conn = server.services.orm.em.getConnection();
  const rows = await conn.execute(
    `select (select row_to_json(d)::text from dataset d where d.id = ?) as dataset,
            (select count(*)::int from dataset_version v where v.dataset_id = ?) as versions`,
    [datasetId, datasetId],
  );
  const permissions = await server.services.datasets.listPermissions(SYSTEM_ACTOR, datasetId).catch(() => []);
  return JSON.stringify({ row: rows[0], permissions });
}

/**
 * What a webhook write could change: the subscription as the service reads it back (url, events, enabled,
 * updated_at…), whether its stored secret still verifies against the one its create answered (a rotation
 * would not), and the state of the delivery the input names (a replay reopens it).
 */
async function webhookSnapshot(id: string, input: Record<string, unknown>): Promise<string> {
  const conn = server.services.orm.em.getConnection();
  const view = await server.services.webhooks
    .get(SYSTEM_ACTOR, id)
    .catch((e: unknown) => `gone: ${String(e)}`);
  const [row] = (await conn.execute('select secret_encrypted from webhook_subscription where id = ?', [
    id,
  ])) as Array<{ secret_encrypted: string }>;
  const original = fx.webhookSecrets.get(id);
  let secretVerifies = false;
  if (row && original) {
    const stored = decryptJson<string>(server.services.keys.encryption, row.secret_encrypted);
    const body = '{"matrix":true}';
    const now = new Date();
    const headers = {
      'webhook-id': 'msg_matrix',
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(stored).sign('msg_matrix', now, body),
    };
    try {
      new Webhook(original).verify(body, headers);
      secretVerifies = true;
    } catch {
      secretVerifies = false; // a signature by another secret: reported through the snapshot's difference
    }
  }
  const delivery = input.delivery_id
    ? (
        await conn.execute('select state, attempts from webhook_delivery where id = ?', [
          String(input.delivery_id),
        ])
      )[0]
    : null;
  return JSON.stringify({ view, secret_verifies: secretVerifies, delivery });
}

/** What a membership write could change: org A's members, read back through the service. */
async function membersSnapshot(): Promise<string> {
  return JSON.stringify(await server.services.organizations.listMembers(fx.orgA));
}

async function runCell(entry: Entry, transport: Transport, column: Column): Promise<string[]> {
  if (column === 'revokedReplay') return replayCell(entry, transport);
  const credentials = await credentialFor(entry, column, transport);
  if (credentials === null) return [];
  const expected = expectationFor(entry, column);
  const succeeds = expected.kind === 'ok' || expected.kind === 'admin';
  // Dataset writes aim at fresh datasets of org A, so that a write let through by mistake spoils no other
  // cell; a refused write must leave its target unchanged. The other organization tries a public and a
  // private one. Reads aim at org A's private dataset.
  const targets: Array<{ id: string; label: string }> =
    entry.orgTarget === 'webhook'
      ? await webhookTargets(entry, column)
      : !entry.datasetWrite
        ? [{ id: fx.privateA, label: entry.orgTarget === 'dataset' ? ' (private dataset)' : '' }]
        : succeeds || (column !== 'otherOrg' && column !== 'otherOrgAdmin')
          ? [{ id: await fx.fresh.dataset('public', entry.withFiles), label: '' }]
          : [
              { id: await fx.fresh.dataset('public', entry.withFiles), label: ' (public dataset)' },
              { id: await fx.fresh.dataset('private', entry.withFiles), label: ' (private dataset)' },
            ];
  const problems: string[] = [];
  for (const { id: target, label } of targets) {
    for (const headers of Array.isArray(credentials) ? credentials : [credentials]) {
      const input = await entry.input(fx, target);
      const before = entry.datasetWrite && !succeeds ? await snapshot(target) : null;
      const membersBefore = entry.organizationWrite && !succeeds ? await membersSnapshot() : null;
      const webhookBefore = entry.webhookWrite && !succeeds ? await webhookSnapshot(target, input) : null;
      const res = await send(transport, input, headers);
      totals.requests++;
      if (res.status >= 500) totals.fivexx++;
      let problem = judge(transport, expected, res);
      const check = entry.checks?.[column];
      if (!problem && check) problem = await check(fx, res, input);
      if (!problem && before !== null && (await snapshot(target)) !== before)
        problem = 'the dataset changed although the write was refused';
      if (!problem && membersBefore !== null && (await membersSnapshot()) !== membersBefore)
        problem = "org A's members changed although the write was refused";
      if (!problem && webhookBefore !== null) {
        const after = await webhookSnapshot(target, input);
        if (after !== webhookBefore)
          problem = `the subscription changed although the write was refused: ${webhookBefore} → ${after}`;
      }
      if (problem) {
        totals.wrong++;
        problems.push(`${transport.label} × ${column}${label}: ${problem}`);
      }
    }
    // A fresh subscription is removed after its cell, so that later events do not fan out to it.
    if (entry.webhookWrite)
      await server.services.webhooks.remove(SYSTEM_ACTOR, target).catch(() => ({ deleted: false }));
  }
  return problems;
}

/**
 * Webhook reads aim at the fixture subscriptions; writes at fresh ones (so that a write let through by
 * mistake spoils no other cell). Org B's admin tries an org A and a platform-wide subscription.
 */
async function webhookTargets(entry: Entry, column: Column): Promise<Array<{ id: string; label: string }>> {
  const fresh = entry.webhookWrite;
  // list and create take no subscription (their input ignores the target): one request is enough.
  if (column === 'otherOrgAdmin' && entry.input.length >= 2)
    return [
      { id: fresh ? await fx.fresh.webhook() : fx.webhookA, label: ' (org A subscription)' },
      { id: fresh ? await fx.fresh.webhook(null) : fx.webhookPlatform, label: ' (platform subscription)' },
    ];
  return [{ id: fresh ? await fx.fresh.webhook() : fx.webhookA, label: '' }];
}

/**
 * A stored Idempotency-Key answer is no credential: once the key that made the request is revoked, the
 * same request with the same Idempotency-Key is refused like any other (REST writes only).
 */
async function replayCell(entry: Entry, transport: Transport): Promise<string[]> {
  const { access } = entry;
  if (transport.kind !== 'rest' || transport.method === 'GET') return [];
  if (access.kind !== 'scope' && access.kind !== 'admin') return [];
  const sa = await server.services.serviceAccounts.create(
    access.kind === 'admin'
      ? { name: fx.fresh.name('replay-admin'), scopes: ['admin'], organizationId: null }
      : { name: fx.fresh.name('replay'), scopes: [...access.scopes], organizationId: fx.orgA },
    SYSTEM_ACTOR,
  );
  const input = await entry.input(
    fx,
    entry.orgTarget === 'webhook'
      ? entry.webhookWrite
        ? await fx.fresh.webhook()
        : fx.webhookA
      : entry.datasetWrite
        ? await fx.fresh.dataset('public', entry.withFiles)
        : fx.privateA,
  );
  const headers = {
    authorization: `Bearer ${sa.api_key}`,
    'idempotency-key': `matrix-${fx.fresh.name('replay')}`,
  };
  const first = await send(transport, input, headers);
  await server.services.serviceAccounts.revoke(sa.service_account_id, SYSTEM_ACTOR);
  const replay = await send(transport, input, headers);
  if (entry.webhookWrite)
    await server.services.webhooks
      .remove(SYSTEM_ACTOR, String(input.subscription_id))
      .catch(() => ({ deleted: false }));
  totals.requests += 2;
  for (const res of [first, replay]) if (res.status >= 500) totals.fivexx++;
  const problem =
    first.status >= 400
      ? `the original request failed: ${first.status} ${errorOf(transport, first).code ?? ''}`
      : judge(transport, expectationFor(entry, 'revokedReplay'), replay);
  if (!problem) return [];
  totals.wrong++;
  return [`${transport.label} × revokedReplay: ${problem}`];
}

describe('authorization matrix: every route and procedure × every credential', () => {
  let transports: Transport[] = [];

  beforeAll(async () => {
    const doc = (await server.request('/api/v1/openapi.json')).body as {
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    openapiPaths = new Map();
    const procedures = appRouter._def.procedures as unknown as Record<
      string,
      { _def: { type: Transport['type'] } }
    >;
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        const procedure = op.operationId.replace('-', '.');
        openapiPaths.set(procedure, { method: method.toUpperCase(), path });
        transports.push({
          kind: 'rest',
          label: `REST ${method.toUpperCase()} ${path}`,
          procedure,
          method: method.toUpperCase(),
          path,
          type: procedures[procedure]?._def.type ?? 'query',
        });
      }
    }
    for (const [name, procedure] of Object.entries(procedures)) {
      transports.push({
        kind: 'trpc',
        label: `tRPC ${name}`,
        procedure: name,
        method: procedure._def.type === 'mutation' ? 'POST' : 'GET',
        type: procedure._def.type,
      });
    }
    transports = transports.sort((a, b) => a.procedure.localeCompare(b.procedure));
  });

  it('every REST operation and every tRPC procedure has a matrix entry (and no entry is stale)', () => {
    const missing = transports
      .filter((t) => !TABLE[t.procedure])
      .map((t) => (t.kind === 'rest' ? `new route ${t.method} ${t.path}` : `new procedure ${t.procedure}`));
    expect(missing.map((m) => `${m} has no matrix entry`)).toEqual([]);
    const procedures = new Set(Object.keys(appRouter._def.procedures));
    expect(Object.keys(TABLE).filter((name) => !procedures.has(name))).toEqual([]);
    expect(transports.filter((t) => t.kind === 'rest').length).toBeGreaterThan(20);
  });

  for (const name of Object.keys(TABLE).sort()) {
    it(name, async () => {
      const entry = TABLE[name]!;
      const problems: string[] = [];
      for (const transport of transports.filter((t) => t.procedure === name)) {
        for (const column of COLUMNS) problems.push(...(await runCell(entry, transport, column)));
      }
      wrongAnswers.push(...problems);
      expect(problems).toEqual([]);
      // Generous: an entry sends a few dozen requests and seeds fresh datasets; 2 shared cores are slow.
    }, 180_000);
  }

  it('summary: no wrong answers, no 5xx', () => {
    console.log(
      `security matrix: ${totals.requests} requests, ${totals.wrong} wrong answers, ${totals.fivexx} 5xx`,
    );
    if (wrongAnswers.length) console.log(`wrong answers:\n  ${wrongAnswers.join('\n  ')}`);
    expect(totals.requests).toBeGreaterThan(500);
    expect(totals.wrong).toBe(0);
    expect(totals.fivexx).toBe(0);
  });
});

// Moved from the hand-listed test/auth-matrix.test.ts, which this matrix replaces.
describe('key lifecycle', () => {
  it('revocation is immediate', async () => {
    const sa = await createServiceAccount(server, ['datasets:read'], 'to-revoke');
    expect((await server.request(`/api/v1/datasets/${fx.publicA}`, { token: sa.api_key })).status).toBe(200);
    const revoke = await server.request(`/api/v1/auth/service-accounts/${sa.service_account_id}/revoke`, {
      method: 'POST',
      body: {},
    });
    expect(revoke.status, revoke.text).toBe(200);
    const after = await server.request(`/api/v1/datasets/${fx.publicA}`, { token: sa.api_key });
    expect(after.status).toBe(401);
    expect(expectEnvelope(after.body, 'UNAUTHENTICATED').error.details.reason).toBe('revoked');
  });

  it('rotation keeps the old key valid only inside the overlap window', async () => {
    const sa = await createServiceAccount(server, ['datasets:read'], 'to-rotate');
    const rotated = await server.request(`/api/v1/auth/service-accounts/${sa.service_account_id}/rotate`, {
      method: 'POST',
      body: { overlap_seconds: 3600 },
    });
    expect(rotated.status, rotated.text).toBe(200);
    const newKey = (rotated.body as { api_key: string }).api_key;
    expect(newKey).not.toBe(sa.api_key);
    const read = async (key: string) =>
      (await server.request(`/api/v1/datasets/${fx.publicA}`, { token: key })).status;
    expect(await read(sa.api_key)).toBe(200);
    expect(await read(newKey)).toBe(200);
    await server.services.orm.em
      .getConnection()
      .execute(
        `update service_account set previous_key_expires_at = now() - interval '1 second' where id = ?`,
        [sa.service_account_id],
      );
    // Labeler's own writes notify every process; a direct database edit has to say so itself.
    await server.services.serviceAccounts.invalidateKeys();
    expect(await read(sa.api_key)).toBe(401);
    expect(await read(newKey)).toBe(200);
  });
});

describe('the four permission reasons', () => {
  it('owner, explicit_permission, organization_member, public_dataset, no_access', async () => {
    const actor = SYSTEM_ACTOR;
    const org = await server.services.organizations.create('Org C', 'org-c', actor);
    await server.services.organizations.setMember(org.id, 21, 'member', actor);
    const orgDs = await createDataset(server, {
      name: 'org',
      visibility: 'organization',
      owner_id: 20,
      organization_id: org.id,
    });
    const privDs = await createDataset(server, { name: 'priv', visibility: 'private', owner_id: 20 });
    await server.services.datasets.grant(privDs.id, 22, 'editor', actor);
    const check = async (id: string, user: number) =>
      (await server.request(`/api/v1/datasets/${id}/permissions/${user}`, { token: fx.keys.platform! })).body;
    expect(await check(privDs.id, 20)).toMatchObject({ has_access: true, role: 'owner', reason: 'owner' });
    expect(await check(privDs.id, 22)).toMatchObject({
      has_access: true,
      role: 'editor',
      reason: 'explicit_permission',
    });
    expect(await check(orgDs.id, 21)).toMatchObject({
      has_access: true,
      role: 'viewer',
      reason: 'organization_member',
    });
    expect(await check(fx.publicA, 99)).toMatchObject({
      has_access: true,
      role: 'viewer',
      reason: 'public_dataset',
    });
    expect(await check(privDs.id, 99)).toEqual({
      dataset_id: privDs.id,
      user_id: 99,
      has_access: false,
      role: null,
      reason: 'no_access',
    });
    expect(await check(orgDs.id, 99)).toMatchObject({ has_access: false, reason: 'no_access' });
  });
});
