export * from './function-id.js';
export * from './ids.js';
export * from './return-codes.js';
export * from './stolen-time-record.js';
export * from './version.js';
