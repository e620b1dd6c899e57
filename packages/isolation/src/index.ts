export * from './errors.js';
export * from './page-list-view.js';
export * from './wire/index.js';
