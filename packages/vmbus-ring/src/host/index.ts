export * from './device.js';
export * from './extension.js';
export * from './host-access.js';
export * from './snapshot.js';
export * from './synic.js';
export * from './synic-hypercalls.js';
export * from './vmbus-server.js';
