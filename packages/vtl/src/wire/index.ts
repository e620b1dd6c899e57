export * from './ids.js';
export * from './input-vtl.js';
export * from './registers.js';
export * from './vp-registers.js';
export * from './vtl-management.js';
