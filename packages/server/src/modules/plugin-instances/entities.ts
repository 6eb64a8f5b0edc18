import { defineEntity, p } from '@mikro-orm/core';
import { PLUGIN_KINDS } from '@labeler/core';

/** A configured instance of a registered plugin. Secret config fields live only in `secretConfig`, encrypted. */
export const PluginInstanceSchema = defineEntity({
  name: 'PluginInstanceRecord',
  tableName: 'plugin_instance',
  properties: {
    id: p.string().primary(),
    pluginId: p.string(),
    kind: p.enum(PLUGIN_KINDS),
    name: p.string().unique(),
    /** Config without secret fields. */
    publicConfig: p.json<Record<string, unknown>>(),
    /** AES-256-GCM envelope of the secret fields (JSON), or null when there are none. */
    secretConfig: p.text().nullable(),
    enabled: p.boolean().default(true),
    /** The default instance of its kind (e.g. where new datasets store files). */
    isDefault: p.boolean().default(false),
    healthStatus: p.string().default('unknown'),
    healthMessage: p.text().nullable(),
    healthCheckedAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export class PluginInstanceRecord extends PluginInstanceSchema.class {}
PluginInstanceSchema.setClass(PluginInstanceRecord);
