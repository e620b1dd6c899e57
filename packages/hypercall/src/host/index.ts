export * from './calling-convention.js';
export * from './cpuid.js';
export * from './descriptor.js';
export * from './dispatcher.js';
export * from './notify-long-spin-wait.js';
export * from './partition.js';
export * from './snapshot.js';
export * from './tlb.js';
