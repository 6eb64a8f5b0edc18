import { PLUGIN_KINDS, pluginInstanceIdSchema, secretFieldPaths } from '@labeler/core';
import { z } from 'zod';
import { adminProcedure, router } from '../../trpc/init.js';
import { platformAdminProcedure } from '../organizations/procedures.js';

const name = z.string().trim().min(1).max(100);
/** An instance procedure's id must name a recorded instance: 404 PLUGIN_INSTANCE_NOT_FOUND otherwise. */
const known = (app: { plugins: { view(id: string): Promise<unknown> } }, id: string) => app.plugins.view(id);
const config = z.record(z.string(), z.unknown());

/** Plugin instances are shared by every organization: changing them is a platform-wide admin action. */
export const pluginsRouter = router({
  /** Registered plugins with their config form (JSON Schema from zod; secret fields marked write-only). */
  definitions: adminProcedure.query(({ ctx }) =>
    ctx.app.plugins.registry.list().map((d) => ({
      id: d.id,
      kind: d.kind,
      display_name: d.displayName,
      description: d.description,
      contract_version: d.contractVersion,
      capabilities: d.capabilities as Record<string, unknown>,
      config_schema: z.toJSONSchema(d.configSchema, { unrepresentable: 'any', io: 'input' }) as Record<
        string,
        unknown
      >,
      secret_fields: secretFieldPaths(d.configSchema),
    })),
  ),
  list: adminProcedure
    .input(z.object({ kind: z.enum(PLUGIN_KINDS).optional() }).optional())
    .query(({ ctx, input }) => ctx.app.plugins.list(input?.kind)),
  get: adminProcedure
    .input(z.object({ id: pluginInstanceIdSchema }))
    .query(({ ctx, input }) => ctx.app.plugins.view(input.id)),
  create: platformAdminProcedure
    .input(z.object({ plugin_id: z.string().max(64), name, config, is_default: z.boolean().optional() }))
    .mutation(async ({ ctx, input }) => {
      const view = await ctx.app.plugins.create({
        pluginId: input.plugin_id,
        name: input.name,
        config: input.config,
        isDefault: input.is_default ?? false,
      });
      await ctx.app.audit.record({
        actor: ctx.principal,
        action: 'plugin_instance.created',
        targetType: 'plugin_instance',
        targetId: view.id,
        details: { plugin_id: input.plugin_id, name: input.name },
      });
      return view;
    }),
  update: platformAdminProcedure
    .input(
      z.object({
        id: pluginInstanceIdSchema,
        name: name.optional(),
        config: config.optional(),
        enabled: z.boolean().optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const view = await ctx.app.plugins.update(input.id, {
        ...(input.name ? { name: input.name } : {}),
        ...(input.config ? { config: input.config } : {}),
        ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
      });
      await ctx.app.audit.record({
        actor: ctx.principal,
        action: 'plugin_instance.updated',
        targetType: 'plugin_instance',
        targetId: input.id,
        details: { fields: Object.keys(input).filter((k) => k !== 'id') },
      });
      return view;
    }),
  setDefault: platformAdminProcedure
    .input(z.object({ id: pluginInstanceIdSchema }))
    .mutation(async ({ ctx, input }) => {
      await ctx.app.plugins.setDefault(input.id);
      return ctx.app.plugins.view(input.id);
    }),
  remove: platformAdminProcedure
    .input(z.object({ id: pluginInstanceIdSchema }))
    .mutation(async ({ ctx, input }) => {
      await known(ctx.app, input.id);
      await ctx.app.plugins.remove(input.id);
      await ctx.app.audit.record({
        actor: ctx.principal,
        action: 'plugin_instance.removed',
        targetType: 'plugin_instance',
        targetId: input.id,
      });
      return { removed: true };
    }),
  checkHealth: platformAdminProcedure
    .input(z.object({ id: pluginInstanceIdSchema }))
    .mutation(async ({ ctx, input }) => {
      await known(ctx.app, input.id);
      return ctx.app.plugins.checkHealth(input.id);
    }),
  /** "Test connection": a throwaway instance from the form's values (stored secrets reused when left blank). */
  test: platformAdminProcedure
    .input(
      z.object({ plugin_id: z.string().max(64), config, instance_id: pluginInstanceIdSchema.optional() }),
    )
    .mutation(async ({ ctx, input }) => {
      if (input.instance_id) await known(ctx.app, input.instance_id);
      return ctx.app.plugins.testConfig(input.plugin_id, input.config, input.instance_id);
    }),
});
