export * from './channel.js';
export * from './synic.js';
export * from './vmbus-client.js';
