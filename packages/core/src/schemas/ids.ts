import { z } from 'zod';

/**
 * Public ids carry a type prefix and random hex (design.md). Dataset ids keep the spec's `ds_` prefix;
 * legacy ids from the Platform (e.g. "ds_abc123") are shorter, so the hex part is 1-64 characters of
 * [a-z0-9] rather than an exact length.
 */
export const ID_PREFIXES = {
  dataset: 'ds',
  datasetVersion: 'dsv',
  serviceAccount: 'sa',
  project: 'prj',
  job: 'job',
  pluginInstance: 'pi',
  organization: 'org',
  adminUser: 'usr',
  annotation: 'ann',
  file: 'fil',
  audit: 'aud',
  permission: 'perm',
  membership: 'mem',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

export function idPattern(kind: IdKind): RegExp {
  return new RegExp(`^${ID_PREFIXES[kind]}_[a-z0-9]{1,64}$`);
}

export const datasetIdSchema = z
  .string()
  .regex(idPattern('dataset'), 'must look like ds_<lowercase letters and digits>');
export const projectIdSchema = z.string().regex(idPattern('project'), 'must look like prj_<hex>');
export const jobIdSchema = z.string().regex(idPattern('job'), 'must look like job_<hex>');
export const serviceAccountIdSchema = z
  .string()
  .regex(idPattern('serviceAccount'), 'must look like sa_<hex>');
export const pluginInstanceIdSchema = z
  .string()
  .regex(idPattern('pluginInstance'), 'must look like pi_<hex>');

/** Platform user ids are positive integers. */
export const platformUserIdSchema = z.coerce.number().int().positive().max(2_147_483_647);

export function isDatasetId(value: string): boolean {
  return idPattern('dataset').test(value);
}
