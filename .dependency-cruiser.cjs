/**
 * The direction of dependencies (shared/design.md, issue 18), checked in `npm test` (`pnpm depcruise`):
 * core imports nothing of ours; a plugin imports only core; the admin only the server's router type; inside
 * the server only the composition root picks plugin packages; no import cycles in the server.
 * Paths are resolved ones: a workspace package resolves to its sources (the `@labeler/source` condition).
 */
/** A plugin package, resolved (its sources) or not (a package that is not a dependency: its bare name). */
const PLUGIN = '^(packages/plugin-[^/]+/|@labeler/plugin-)';

/** Server files that may import plugin packages: the composition root. */
const COMPOSITION_ROOT = [
  '^packages/server/src/plugins/catalog\\.ts$',
  '^packages/server/src/app/create\\.ts$',
];
/**
 * Known exception (issue 18, a later step): the CLI's push/pull still drives plugin-fiftyone's own
 * workflow with a Label Studio client built from the CLI config. Remove once the CLI calls the server's
 * annotation module.
 */
const CLI_WORKFLOW_EXCEPTION = '^packages/server/src/cli/ls-workflow\\.ts$';

module.exports = {
  forbidden: [
    {
      name: 'core-imports-nothing-of-ours',
      severity: 'error',
      comment: 'core holds the contracts: it never imports a plugin, the server or the admin.',
      from: { path: '^packages/core/src/' },
      to: { path: '^(packages/(?!core/)[^/]+/|@labeler/(?!core(/|$)))' },
    },
    {
      name: 'plugins-import-only-core',
      severity: 'error',
      comment: 'A plugin uses contracts from core; it never imports another plugin, the server or the admin.',
      from: { path: '^packages/(plugin-[^/]+)/src/' },
      to: {
        path: '^(packages/[^/]+/|@labeler/)',
        pathNot: ['^packages/core/', '^@labeler/core(/|$)', '^packages/$1/'],
      },
    },
    {
      name: 'admin-imports-only-server-router',
      severity: 'error',
      comment:
        'The console talks over tRPC: of our packages it imports only the server router (`@labeler/server/router`).',
      from: { path: '^packages/admin/src/' },
      to: {
        path: '^(packages/(?!admin/)[^/]+/|@labeler/)',
        pathNot: '^packages/server/src/trpc/app-router\\.ts$',
      },
    },
    {
      name: 'admin-imports-server-router-as-type-only',
      severity: 'error',
      comment: 'Only the AppRouter type: `import type`, so no server code is bundled into the console.',
      from: { path: '^packages/admin/src/' },
      to: { path: '^packages/server/src/trpc/app-router\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'server-imports-plugins-only-in-composition-root',
      severity: 'error',
      comment:
        'Modules reach plugins through contracts (the plugin host, instances passed in); only plugins/catalog.ts (and app/create.ts) pick plugin packages. Known exception: cli/ls-workflow.ts (issue 18, CLI step).',
      from: { path: '^packages/server/src/', pathNot: [...COMPOSITION_ROOT, CLI_WORKFLOW_EXCEPTION] },
      to: { path: PLUGIN },
    },
    {
      name: 'no-circular-in-server',
      severity: 'error',
      comment:
        'A runtime cycle makes module load order matter and hides who owns what (type-only imports vanish at build, so they do not count).',
      from: { path: '^packages/server/src/' },
      to: {
        circular: true,
        path: '^packages/server/src/',
        dependencyTypesNot: ['type-only'],
        viaOnly: { dependencyTypesNot: ['type-only'] },
      },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment:
        'An import that does not resolve (e.g. a package that is not a declared dependency) escapes the rules above.',
      from: { path: '^packages/[^/]+/src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['(^|/)dist/', '(^|/)node_modules/', '\\.d\\.ts$'] },
    tsPreCompilationDeps: true,
    combinedDependencies: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['@labeler/source', 'import', 'node', 'default'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.d.ts'],
    },
    tsConfig: { fileName: 'tsconfig.base.json' },
  },
};
