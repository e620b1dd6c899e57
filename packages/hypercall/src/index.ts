export * from './guest-fault.js';
export * from './memory.js';
export * from './wire/index.js';
