export * from './ring/index.js';
export * from './wire/index.js';
