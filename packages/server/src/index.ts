/** Programmatic entry: start a server or build services in-process (tests, embedding). */
export { createServices, startServer, shutdownServices, type RunningServer } from './app/create.js';
export type { AppServices } from './app/services.js';
export { loadConfig, type AppConfig } from './config/env.js';
export type { AppRouter } from './trpc/app-router.js';
