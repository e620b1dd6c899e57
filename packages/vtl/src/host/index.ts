export * from './common.js';
export * from './enable.js';
export * from './extension.js';
export * from './register-file.js';
export * from './snapshot.js';
export * from './state.js';
export * from './vp-registers.js';
export * from './vtl-call.js';
