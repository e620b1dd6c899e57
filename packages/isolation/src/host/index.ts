export * from './extension.js';
export * from './host-memory.js';
export * from './hypercalls.js';
export * from './isolated-guest-memory.js';
export * from './scramble.js';
export * from './snapshot.js';
export * from './state.js';
export * from './visibility-map.js';
