export * from './conduit.js';
export * from './install.js';
export * from './pv-time-host.js';
export * from './snapshot.js';
export * from './vmm-error.js';
