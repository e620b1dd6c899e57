export * from './boot.js';
export * from './cpu.js';
export * from './detect.js';
export * from './hypercalls.js';
export * from './page-allocator.js';
export * from './program.js';
export * from './vp-index.js';
