export * from './arithmetic.js';
export * from './control-page.js';
export * from './packet.js';
export * from './validate.js';
