import { SERVICE_ACCOUNT_SCOPES, type Scope } from '@labeler/core';
import type { Command } from 'commander';
import { CLI_PRINCIPAL, withServices } from '../context.js';
import { contextOf } from './shared.js';

function parseScopes(value: string): Scope[] {
  const scopes = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const scope of scopes) {
    if (!(SERVICE_ACCOUNT_SCOPES as readonly string[]).includes(scope))
      throw new Error(`unknown scope "${scope}"; known: ${SERVICE_ACCOUNT_SCOPES.join(', ')}`);
  }
  return scopes as Scope[];
}

export function registerAccountCommands(program: Command): void {
  const sa = program.command('sa').description('service accounts (API keys for the Platform)');
  sa.command('create <name>')
    .description('create a service account; prints its key once')
    .option(
      '--scopes <list>',
      'comma-separated scopes',
      'datasets:read,datasets:download,datasets:permissions',
    )
    .option('--expires-in-days <days>', 'expiry in days')
    .option(
      '--organization <id>',
      "the organization the key acts in (reads public datasets and that organization's, writes only its); default: platform-wide",
    )
    .action(
      async (
        name: string,
        opts: { scopes: string; expiresInDays?: string; organization?: string },
        command: Command,
      ) => {
        const { config, out } = contextOf(command);
        const scopes = parseScopes(opts.scopes);
        const days = opts.expiresInDays ? Number(opts.expiresInDays) : null;
        if (days !== null && (!Number.isInteger(days) || days < 1))
          throw new Error('--expires-in-days must be a positive whole number');
        const organizationId = opts.organization ?? null;
        const created = await withServices(config, async (app) => {
          // As POST /auth/service-accounts does: an unknown organization is NOT_FOUND, nothing created.
          if (organizationId) await app.organizations.requireExists(organizationId);
          return app.serviceAccounts.create(
            {
              name,
              scopes,
              expiresAt: days ? new Date(Date.now() + days * 86400_000) : null,
              organizationId,
            },
            CLI_PRINCIPAL,
          );
        });
        out.result(
          created,
          () =>
            `created ${created.service_account_id} (${created.scopes.join(', ')}) in ${created.organization_id ?? 'no organization (platform-wide)'}\napi key (shown once, store it now): ${created.api_key}`,
        );
      },
    );
  sa.command('list')
    .description('list service accounts')
    .action(async (_opts, command: Command) => {
      const { config, out } = contextOf(command);
      const accounts = await withServices(config, (app) => app.serviceAccounts.list());
      out.result(accounts, () =>
        accounts.length
          ? accounts
              .map(
                (a) =>
                  `${a.id}  ${a.status.padEnd(7)}  ${a.key_prefix}…  ${a.name}  [${a.scopes.join(', ')}]  ${a.organization_id ?? 'platform-wide'}  last used ${a.last_used_at ?? 'never'}`,
              )
              .join('\n')
          : 'no service accounts',
      );
    });
  sa.command('revoke <id>')
    .description('revoke a service account key immediately')
    .action(async (id: string, _opts, command: Command) => {
      const { config, out } = contextOf(command);
      const view = await withServices(config, (app) => app.serviceAccounts.revoke(id, CLI_PRINCIPAL));
      out.result(view, () => `revoked ${view.id} (${view.name})`);
    });

  const admin = program.command('admin').description('console admin users');
  admin
    .command('create <email>')
    .description('create a console admin; reads the password from LABELER_NEW_ADMIN_PASSWORD')
    .action(async (email: string, _opts, command: Command) => {
      const { config, out } = contextOf(command);
      const password = process.env.LABELER_NEW_ADMIN_PASSWORD;
      if (!password || password.length < 10)
        throw new Error('set LABELER_NEW_ADMIN_PASSWORD (at least 10 characters)');
      const user = await withServices(config, (app) =>
        app.adminUsers.create({ email, password }, CLI_PRINCIPAL),
      );
      out.result(user, () => `created admin ${user.email}`);
    });
}
