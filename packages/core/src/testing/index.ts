/**
 * Conformance kits: one suite per contract. Any implementation (ours or a third party's) runs its
 * contract's suite with one call inside a vitest file.
 */
export * from './storage.js';
export * from './annotation-backend.js';
export * from './dataset-connector.js';
