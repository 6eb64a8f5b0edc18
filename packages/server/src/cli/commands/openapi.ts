import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/env.js';
import { buildOpenApiDocument } from '../../http/openapi.js';
import { buildPostmanCollection } from '../../http/postman.js';
import { appRouter } from '../../trpc/app-router.js';
import { contextOf } from './shared.js';

/**
 * `labeler openapi [file]` and `labeler openapi --postman [file]`: the documents the server serves at
 * /api/v1/openapi.json and /api/v1/postman.json, built from the same router (no database, no server).
 */
export function registerOpenApiCommands(program: Command): void {
  program
    .command('openapi [file]')
    .description(
      'write the OpenAPI document (or, with --postman, the Postman v2.1 collection) to a file or stdout',
    )
    .option('--postman [file]', 'the Postman Collection v2.1 instead (auth: bearer {{labeler_api_key}})')
    .option('--base-url <url>', 'server URL in the documents (default: LABELER_PUBLIC_URL)')
    .action(
      async (
        file: string | undefined,
        opts: { postman?: string | boolean; baseUrl?: string },
        command: Command,
      ) => {
        const { config, out } = contextOf(command);
        const server = loadConfig({ ...process.env, ...config.server });
        const baseUrl = (opts.baseUrl ?? server.publicUrl).replace(/\/$/, '');
        const openApi = buildOpenApiDocument(appRouter, baseUrl);
        const document = opts.postman ? await buildPostmanCollection(openApi) : openApi;
        const target = typeof opts.postman === 'string' ? opts.postman : file;
        const text = `${JSON.stringify(document, null, 2)}\n`;
        if (!target) {
          process.stdout.write(text);
          return;
        }
        const path = resolve(target);
        await writeFile(path, text);
        const kind = opts.postman ? 'Postman collection' : 'OpenAPI document';
        out.result({ written: path, kind }, () => `wrote the ${kind} to ${path}`);
      },
    );
}
