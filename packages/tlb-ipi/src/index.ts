export * from './wire/flush.js';
export * from './wire/ipi.js';
export * from './wire/vp-set.js';
