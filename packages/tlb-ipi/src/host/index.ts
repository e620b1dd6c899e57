export * from './extension.js';
export * from './flush.js';
export * from './ipi.js';
export * from './kvm-flush-fifo.js';
export * from './snapshot.js';
export * from './state.js';
export * from './targets.js';
