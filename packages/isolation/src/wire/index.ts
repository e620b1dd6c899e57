export * from './alias.js';
export * from './isolation-config.js';
export * from './visibility.js';
