/**
 * `@pvlab/hypercall/testing`: a partition without createVm, for testing host handlers and guest
 * code against the real dispatcher — constants, `testPartition`, `enableTestHypercalls`,
 * `partitionGuestCpu`/`partitionGuest` and `rawCall`.
 */
export * from './constants.js';
export * from './guest-cpu.js';
export * from './partition.js';
export * from './raw-call.js';
