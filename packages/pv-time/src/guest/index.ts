export * from './cpu.js';
export * from './probe.js';
export * from './steal-clock.js';
