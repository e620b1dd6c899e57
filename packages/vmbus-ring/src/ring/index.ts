export * from './control.js';
export * from './results.js';
export * from './ring-memory.js';
export * from './ring-reader.js';
export * from './ring-writer.js';
