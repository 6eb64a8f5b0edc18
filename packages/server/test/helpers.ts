import type { Principal } from '@labeler/core';
import { expect } from 'vitest';
import type { TestServer } from '../src/testing/harness.js';

/** A platform-wide admin actor for calling services directly in tests (as the CLI's principal is). */
export const SYSTEM_ACTOR: Principal = {
  kind: 'system',
  id: 'test',
  name: 'test',
  organizationId: null,
  roles: [],
  scopes: ['admin'],
  authenticatedBy: 'test',
};

export interface Envelope {
  error: { code: string; message: string; details: Record<string, unknown>; timestamp: string };
}

/** Asserts the spec's error envelope, exactly its four fields, and returns it. */
export function expectEnvelope(body: unknown, code: string): Envelope {
  expect(body).toBeTypeOf('object');
  const envelope = body as Envelope;
  expect(Object.keys(envelope)).toEqual(['error']);
  expect(Object.keys(envelope.error).sort()).toEqual(['code', 'details', 'message', 'timestamp']);
  expect(envelope.error.code).toBe(code);
  expect(envelope.error.message).toBeTypeOf('string');
  expect(envelope.error.message).not.toMatch(/\bat .+\.(ts|js):\d+/);
  expect(envelope.error.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  return envelope;
}

/**
 * The same rules as expectEnvelope, as a value: null for the exact envelope, else what is wrong. For suites
 * that count wrong answers over thousands of requests instead of stopping at the first.
 */
export function envelopeProblem(body: unknown): string | null {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'not a JSON object';
  if (Object.keys(body).join() !== 'error') return `keys ${Object.keys(body).join()}, not just "error"`;
  const error = (body as { error: unknown }).error as Record<string, unknown> | null;
  if (!error || typeof error !== 'object') return '"error" is not an object';
  if (Object.keys(error).sort().join() !== 'code,details,message,timestamp')
    return `error has ${Object.keys(error).sort().join()}`;
  if (typeof error.code !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(error.code)) return 'bad code';
  if (typeof error.message !== 'string') return 'message is not a string';
  if (/\bat .+\.(ts|js):\d+/.test(error.message)) return 'stack trace in the message';
  if (!error.details || typeof error.details !== 'object' || Array.isArray(error.details))
    return 'details is not an object';
  if (typeof error.timestamp !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(error.timestamp))
    return 'timestamp is not whole-second ISO 8601 UTC';
  return null;
}

export interface SeedDataset {
  name: string;
  format?: 'coco' | 'yolo' | 'dice' | 'imagefolder';
  visibility?: 'public' | 'private' | 'organization';
  owner_id?: number;
  labeled?: boolean;
  tags?: string[];
  class_names?: string[];
  num_images?: number;
  description?: string;
  organization_id?: string | null;
}

export async function createDataset(
  server: TestServer,
  input: SeedDataset,
  token?: string,
): Promise<{ id: string } & Record<string, unknown>> {
  const res = await server.request('/api/v1/datasets', {
    method: 'POST',
    body: { format: 'coco', owner_id: 1, visibility: 'public', ...input },
    ...(token ? { token } : {}),
  });
  expect(res.status, res.text).toBe(201);
  return res.body as { id: string };
}

export async function createServiceAccount(
  server: TestServer,
  scopes: string[],
  name = 'test-sa',
): Promise<{ service_account_id: string; api_key: string }> {
  const res = await server.request('/api/v1/auth/service-accounts', {
    method: 'POST',
    body: { service_name: name, scopes },
  });
  expect(res.status, res.text).toBe(201);
  return res.body as { service_account_id: string; api_key: string };
}

/** An organization (through its service, as the console does) and its id. */
export async function createOrganization(server: TestServer, slug: string): Promise<string> {
  return (await server.services.organizations.create(slug, slug, SYSTEM_ACTOR)).id;
}

/** A key acting in `organizationId`, created by the platform-wide admin through the service. */
export async function createOrgServiceAccount(
  server: TestServer,
  organizationId: string,
  scopes: Array<Principal['scopes'][number]>,
  name = 'org-sa',
): Promise<{ service_account_id: string; api_key: string }> {
  return server.services.serviceAccounts.create({ name, scopes, organizationId }, SYSTEM_ACTOR);
}
