export * from './ls-result.js';
export * from './part-ids.js';
export * from './rle.js';
export * from './to-ls.js';
export * from './from-ls.js';
