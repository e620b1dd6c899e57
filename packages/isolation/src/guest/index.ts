export * from './bounce-pool.js';
export * from './config.js';
export * from './monitor-pages.js';
export * from './places.js';
export * from './ring.js';
export * from './visibility.js';
export * from './vmap-pfn.js';
