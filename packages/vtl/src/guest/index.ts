export * from './get-vtl.js';
export * from './vp-registers.js';
export * from './vtl-management.js';
