// Everything the package exports, for every runtime entry point (each initialises the wasm first).
export * from './api.js';
export * from './reader.js';
export * from './cognito.js';
