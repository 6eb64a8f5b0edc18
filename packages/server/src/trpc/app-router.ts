import { annotationRouter } from '../modules/annotation/router.js';
import { auditRouter } from '../modules/audit/router.js';
import { authRouter } from '../modules/auth/router.js';
import { datasetsRouter } from '../modules/datasets/router.js';
import { jobsRouter } from '../modules/jobs/router.js';
import { organizationsRouter } from '../modules/organizations/router.js';
import { pluginsRouter } from '../modules/plugin-instances/router.js';
import { serviceAccountsRouter } from '../modules/service-accounts/router.js';
import { filesRouter } from '../modules/storage-files/router.js';
import { webhooksRouter } from '../modules/webhooks/router.js';
import { router } from './init.js';

export const appRouter = router({
  auth: authRouter,
  datasets: datasetsRouter,
  files: filesRouter,
  serviceAccounts: serviceAccountsRouter,
  plugins: pluginsRouter,
  organizations: organizationsRouter,
  audit: auditRouter,
  jobs: jobsRouter,
  annotation: annotationRouter,
  webhooks: webhooksRouter,
});

/** The type TypeScript clients (and the console) import; never the router's code. */
export type AppRouter = typeof appRouter;
