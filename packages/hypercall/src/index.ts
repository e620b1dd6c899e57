export * from './guest-fault.js';
export * from './interrupts.js';
export * from './memory.js';
export * from './wire/index.js';
