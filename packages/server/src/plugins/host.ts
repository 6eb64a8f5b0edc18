import { join } from 'node:path';
import {
  type AnnotationBackendInstance,
  type AuthInstance,
  type DatasetConnectorInstance,
  type HealthReport,
  isLabelerError,
  LabelerError,
  parsePluginConfig,
  type PluginContext,
  type PluginDefinition,
  type PluginInstance,
  type PluginKind,
  type StorageInstance,
  toLabelerError,
} from '@labeler/core';
import type { Orm } from '../db/orm.js';
import { decryptJson, encryptJson } from '../lib/crypto.js';
import { newId } from '../lib/ids.js';
import type { Logger } from '../lib/logger.js';
import { PluginInstanceRecord } from '../modules/plugin-instances/entities.js';
import type { PluginRegistry } from './registry.js';
import { mergeSecrets, secretStatus, splitSecrets } from './secrets.js';

export interface InstanceByKind {
  storage: StorageInstance;
  'annotation-backend': AnnotationBackendInstance;
  auth: AuthInstance;
  'dataset-connector': DatasetConnectorInstance;
}

interface RunningInstance {
  record: { id: string; pluginId: string; kind: PluginKind; updatedAt: Date };
  instance: PluginInstance | null;
  startError: LabelerError | null;
  health: HealthReport;
}

export interface PluginHostOptions {
  orm: Orm;
  registry: PluginRegistry;
  logger: Logger;
  encryptionKey: Buffer;
  signingKey: string;
  publicBaseUrl: string;
  dataDir: string;
  healthTimeoutMs?: number;
}

export interface InstanceView {
  id: string;
  plugin_id: string;
  kind: PluginKind;
  name: string;
  enabled: boolean;
  is_default: boolean;
  config: Record<string, unknown>;
  secrets_set: Record<string, boolean>;
  health: { status: string; message: string | null; checked_at: string | null };
  created_at: string;
  updated_at: string;
}

const HEALTH_TIMEOUT_MS = 5000;
const DEFAULT_ID_TTL_MS = 5000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new LabelerError('PLUGIN_UNAVAILABLE', `${what} did not answer within ${ms} ms.`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Runs plugin instances configured in the database. An instance that fails to start is kept as
 * unhealthy with its error and never stops the server; calls to it answer PLUGIN_UNAVAILABLE.
 */
export class PluginHost {
  readonly #running = new Map<string, RunningInstance>();
  readonly #starting = new Map<string, Promise<RunningInstance>>();
  readonly #defaultIds = new Map<PluginKind, { id: string; at: number }>();
  readonly #options: PluginHostOptions;

  constructor(options: PluginHostOptions) {
    this.#options = options;
  }

  get registry(): PluginRegistry {
    return this.#options.registry;
  }

  /** Starts every enabled instance; never throws for a single bad instance. */
  async start(): Promise<void> {
    const em = this.#options.orm.em.fork();
    const records = await em.find(PluginInstanceRecord, { enabled: true });
    await Promise.all(records.map((record) => this.#startRecord(record)));
  }

  async stop(): Promise<void> {
    const all = [...this.#running.values()];
    this.#running.clear();
    await Promise.allSettled(all.map((r) => r.instance?.dispose()));
  }

  #context(instanceId: string): PluginContext {
    return {
      instanceId,
      logger: this.#options.logger.child({ plugin_instance: instanceId }),
      publicBaseUrl: this.#options.publicBaseUrl,
      dataDir: join(this.#options.dataDir, 'plugins', instanceId),
      signingKey: `${this.#options.signingKey}:${instanceId}`,
    };
  }

  #configOf(record: PluginInstanceRecord): Record<string, unknown> {
    const secrets = record.secretConfig
      ? decryptJson<Record<string, unknown>>(this.#options.encryptionKey, record.secretConfig)
      : {};
    return mergeSecrets(record.publicConfig, secrets);
  }

  /** A form's config where secret fields left blank keep the stored values (forms never see secrets). */
  #withStoredSecrets(
    definition: PluginDefinition,
    record: PluginInstanceRecord,
    given: Record<string, unknown>,
  ): Record<string, unknown> {
    const { secrets: stored } = splitSecrets(definition, this.#configOf(record));
    const { publicConfig, secrets } = splitSecrets(definition, given);
    for (const [path, value] of Object.entries(secrets))
      if (value === '' || value === null) delete secrets[path];
    return mergeSecrets(publicConfig, { ...stored, ...secrets });
  }

  async #startRecord(record: PluginInstanceRecord): Promise<RunningInstance> {
    const previous = this.#running.get(record.id);
    if (previous) await previous.instance?.dispose().catch(() => {});
    const running: RunningInstance = {
      record: { id: record.id, pluginId: record.pluginId, kind: record.kind, updatedAt: record.updatedAt },
      instance: null,
      startError: null,
      health: { status: 'unhealthy', message: 'starting', checkedAt: new Date().toISOString() },
    };
    try {
      const definition = this.registry.get(record.pluginId);
      const config = parsePluginConfig(definition, this.#configOf(record));
      running.instance = await withTimeout(
        definition.create(this.#context(record.id), config),
        15_000,
        `Plugin "${record.pluginId}" start`,
      );
      running.health = { status: 'healthy', message: 'started', checkedAt: new Date().toISOString() };
    } catch (error) {
      const err = toLabelerError(error);
      running.startError = isLabelerError(error)
        ? error
        : new LabelerError(
            'PLUGIN_UNAVAILABLE',
            `Plugin instance "${record.name}" failed to start: ${(error as Error)?.message ?? String(error)}`,
          );
      running.health = {
        status: 'unhealthy',
        message: running.startError.message,
        checkedAt: new Date().toISOString(),
      };
      this.#options.logger.warn(
        {
          plugin_instance: record.id,
          plugin: record.pluginId,
          code: err.code,
          err: running.startError.message,
        },
        'plugin instance failed to start',
      );
    }
    this.#running.set(record.id, running);
    await this.#saveHealth(record.id, running.health);
    return running;
  }

  async #saveHealth(id: string, health: HealthReport): Promise<void> {
    const em = this.#options.orm.em.fork();
    await em.nativeUpdate(
      PluginInstanceRecord,
      { id },
      {
        healthStatus: health.status,
        healthMessage: health.message ?? null,
        healthCheckedAt: new Date(health.checkedAt),
      },
    );
  }

  /** The running instance; starts it on first use (e.g. created by another process). */
  async get<K extends PluginKind>(id: string, kind: K): Promise<InstanceByKind[K]> {
    let running = this.#running.get(id);
    if (!running) {
      let pending = this.#starting.get(id);
      if (!pending) {
        pending = (async () => {
          const record = await this.#options.orm.em.fork().findOne(PluginInstanceRecord, { id });
          if (!record)
            throw new LabelerError('PLUGIN_INSTANCE_NOT_FOUND', `No plugin instance "${id}".`, {
              details: { instance_id: id },
            });
          if (!record.enabled)
            throw new LabelerError('PLUGIN_UNAVAILABLE', `Plugin instance "${record.name}" is disabled.`, {
              details: { instance_id: id },
            });
          return this.#startRecord(record);
        })().finally(() => this.#starting.delete(id));
        this.#starting.set(id, pending);
      }
      running = await pending;
    }
    if (running.record.kind !== kind) {
      throw new LabelerError(
        'VALIDATION_ERROR',
        `Plugin instance "${id}" is a ${running.record.kind} plugin, not ${kind}.`,
        { details: { instance_id: id } },
      );
    }
    if (!running.instance)
      throw (
        running.startError ??
        new LabelerError('PLUGIN_UNAVAILABLE', `Plugin instance "${id}" is not running.`)
      );
    return running.instance as InstanceByKind[K];
  }

  /**
   * The default instance of a kind (e.g. the storage new datasets use, and the one every dataset without
   * its own storage reads from). Its id is cached briefly because download URLs resolve it on each call;
   * this process's own changes clear the cache, another process's show within DEFAULT_ID_TTL_MS.
   */
  async getDefault<K extends PluginKind>(kind: K): Promise<{ id: string; instance: InstanceByKind[K] }> {
    const cached = this.#defaultIds.get(kind);
    let id = cached && Date.now() - cached.at < DEFAULT_ID_TTL_MS ? cached.id : undefined;
    if (!id) {
      const record = await this.#options.orm.em
        .fork()
        .findOne(PluginInstanceRecord, { kind, isDefault: true, enabled: true });
      if (!record)
        throw new LabelerError('PLUGIN_UNAVAILABLE', `No default ${kind} plugin instance is configured.`, {
          details: { kind },
        });
      id = record.id;
      this.#defaultIds.set(kind, { id, at: Date.now() });
    }
    return { id, instance: await this.get(id, kind) };
  }

  async create(input: {
    pluginId: string;
    name: string;
    config: unknown;
    isDefault?: boolean;
    enabled?: boolean;
  }): Promise<InstanceView> {
    const definition = this.registry.get(input.pluginId);
    const config = parsePluginConfig(definition, input.config) as Record<string, unknown>;
    const { publicConfig, secrets } = splitSecrets(definition, config);
    const em = this.#options.orm.em.fork();
    if (await em.count(PluginInstanceRecord, { name: input.name })) {
      throw new LabelerError('CONFLICT', `A plugin instance named "${input.name}" already exists.`, {
        details: { name: input.name },
      });
    }
    const record = em.create(PluginInstanceRecord, {
      id: newId('pluginInstance'),
      pluginId: definition.id,
      kind: definition.kind,
      name: input.name,
      publicConfig,
      secretConfig: Object.keys(secrets).length ? encryptJson(this.#options.encryptionKey, secrets) : null,
      enabled: input.enabled ?? true,
      isDefault: false,
    });
    await em.flush();
    if (input.isDefault) await this.setDefault(record.id);
    if (record.enabled) await this.#startRecord(record);
    return this.view(record.id);
  }

  /** Updates config; secret fields left out (or empty) keep their stored values (forms never see them). */
  async update(
    id: string,
    input: { name?: string; config?: Record<string, unknown>; enabled?: boolean },
  ): Promise<InstanceView> {
    const em = this.#options.orm.em.fork();
    const record = await em.findOne(PluginInstanceRecord, { id });
    if (!record)
      throw new LabelerError('PLUGIN_INSTANCE_NOT_FOUND', `No plugin instance "${id}".`, {
        details: { instance_id: id },
      });
    const definition = this.registry.get(record.pluginId);
    if (input.config) {
      const merged = parsePluginConfig(
        definition,
        this.#withStoredSecrets(definition, record, input.config),
      ) as Record<string, unknown>;
      const split = splitSecrets(definition, merged);
      record.publicConfig = split.publicConfig;
      record.secretConfig = Object.keys(split.secrets).length
        ? encryptJson(this.#options.encryptionKey, split.secrets)
        : null;
    }
    if (input.name !== undefined) record.name = input.name;
    if (input.enabled !== undefined) record.enabled = input.enabled;
    await em.flush();
    this.#defaultIds.clear();
    if (record.enabled) await this.#startRecord(record);
    else {
      await this.#running
        .get(id)
        ?.instance?.dispose()
        .catch(() => {});
      this.#running.delete(id);
    }
    return this.view(id);
  }

  async setDefault(id: string): Promise<void> {
    const em = this.#options.orm.em.fork();
    await em.transactional(async (tem) => {
      const record = await tem.findOne(PluginInstanceRecord, { id });
      if (!record)
        throw new LabelerError('PLUGIN_INSTANCE_NOT_FOUND', `No plugin instance "${id}".`, {
          details: { instance_id: id },
        });
      await tem.nativeUpdate(
        PluginInstanceRecord,
        { kind: record.kind, isDefault: true },
        { isDefault: false },
      );
      record.isDefault = true;
    });
    this.#defaultIds.clear();
  }

  async remove(id: string): Promise<void> {
    const em = this.#options.orm.em.fork();
    const record = await em.findOne(PluginInstanceRecord, { id });
    if (!record) return;
    await this.#running
      .get(id)
      ?.instance?.dispose()
      .catch(() => {});
    this.#running.delete(id);
    em.remove(record);
    await em.flush();
    this.#defaultIds.clear();
  }

  /** Runs health() with a timeout and records the result. */
  async checkHealth(id: string): Promise<HealthReport> {
    let health: HealthReport;
    try {
      const running = this.#running.get(id);
      if (running && !running.instance) health = running.health;
      else {
        const record = await this.#options.orm.em.fork().findOneOrFail(PluginInstanceRecord, { id });
        const instance = await this.get(id, record.kind);
        health = await withTimeout(
          instance.health(),
          this.#options.healthTimeoutMs ?? HEALTH_TIMEOUT_MS,
          'Health check',
        );
      }
    } catch (error) {
      health = {
        status: 'unhealthy',
        message: toLabelerError(error).message,
        checkedAt: new Date().toISOString(),
      };
    }
    const running = this.#running.get(id);
    if (running) running.health = health;
    await this.#saveHealth(id, health);
    return health;
  }

  async checkAll(): Promise<Record<string, HealthReport>> {
    const records = await this.#options.orm.em.fork().find(PluginInstanceRecord, { enabled: true });
    const entries = await Promise.all(
      records.map(async (r) => [r.id, await this.checkHealth(r.id)] as const),
    );
    return Object.fromEntries(entries);
  }

  /** Creates a throwaway instance from a config and reports its health (and diagnosis for annotation backends). */
  async testConfig(
    pluginId: string,
    rawConfig: unknown,
    existingId?: string,
  ): Promise<{ health: HealthReport; diagnosis?: unknown }> {
    const definition = this.registry.get(pluginId);
    let configInput = rawConfig as Record<string, unknown>;
    if (existingId) {
      const record = await this.#options.orm.em
        .fork()
        .findOneOrFail(PluginInstanceRecord, { id: existingId });
      configInput = this.#withStoredSecrets(definition, record, configInput);
    }
    const config = parsePluginConfig(definition, configInput);
    const instance = await definition.create(this.#context(existingId ?? `test-${Date.now()}`), config);
    try {
      const health = await withTimeout(instance.health(), HEALTH_TIMEOUT_MS, 'Health check').catch(
        (error): HealthReport => ({
          status: 'unhealthy',
          message: toLabelerError(error).message,
          checkedAt: new Date().toISOString(),
        }),
      );
      if (definition.kind === 'annotation-backend') {
        const diagnosis = await withTimeout(
          (instance as AnnotationBackendInstance).diagnose(),
          15_000,
          'Diagnosis',
        ).catch((error) => ({
          ok: false,
          error: toLabelerError(error).toJSON(),
        }));
        return { health, diagnosis };
      }
      return { health };
    } finally {
      await instance.dispose().catch(() => {});
    }
  }

  async view(id: string): Promise<InstanceView> {
    const record = await this.#options.orm.em.fork().findOne(PluginInstanceRecord, { id });
    if (!record)
      throw new LabelerError('PLUGIN_INSTANCE_NOT_FOUND', `No plugin instance "${id}".`, {
        details: { instance_id: id },
      });
    return this.#toView(record);
  }

  async list(kind?: PluginKind): Promise<InstanceView[]> {
    const records = await this.#options.orm.em
      .fork()
      .find(PluginInstanceRecord, kind ? { kind } : {}, { orderBy: { createdAt: 'asc' } });
    return records.map((r) => this.#toView(r));
  }

  #toView(record: PluginInstanceRecord): InstanceView {
    const definition = this.registry.has(record.pluginId) ? this.registry.get(record.pluginId) : null;
    const secrets = record.secretConfig
      ? decryptJson<Record<string, unknown>>(this.#options.encryptionKey, record.secretConfig)
      : {};
    const running = this.#running.get(record.id);
    return {
      id: record.id,
      plugin_id: record.pluginId,
      kind: record.kind,
      name: record.name,
      enabled: record.enabled,
      is_default: record.isDefault,
      config: record.publicConfig,
      secrets_set: definition ? secretStatus(definition, secrets) : {},
      health: running
        ? {
            status: running.health.status,
            message: running.health.message ?? null,
            checked_at: running.health.checkedAt,
          }
        : {
            status: record.healthStatus,
            message: record.healthMessage ?? null,
            checked_at: record.healthCheckedAt?.toISOString() ?? null,
          },
      created_at: record.createdAt.toISOString(),
      updated_at: record.updatedAt.toISOString(),
    };
  }
}
