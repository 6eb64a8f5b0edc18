import { parsePluginConfig, type PluginContext, type PluginLogger } from '@labeler/core';
import { r2StoragePlugin, type R2ConfigInput, type R2StorageInstance } from '../src/index.js';

export interface LogLine {
  level: string;
  obj: object | string;
  msg?: string | undefined;
}

/** A logger that records lines, so tests can assert that secrets never appear. */
export function recordingLogger(lines: LogLine[] = []): PluginLogger & { lines: LogLine[] } {
  const log = (level: string) => (obj: object | string, msg?: string) => {
    lines.push({ level, obj, msg });
  };
  const logger = {
    lines,
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: () => logger,
  };
  return logger;
}

export function createR2(
  config: R2ConfigInput,
  logger: PluginLogger = recordingLogger(),
): Promise<R2StorageInstance> {
  const ctx: PluginContext = {
    instanceId: 'pi_r2_test',
    logger,
    publicBaseUrl: 'http://127.0.0.1:1',
    dataDir: '/tmp',
    signingKey: 'unused',
  };
  return r2StoragePlugin.create(ctx, parsePluginConfig(r2StoragePlugin, config));
}
