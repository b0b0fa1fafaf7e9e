// Entry point for Cloudflare Workers / workerd, which refuse to compile wasm from bytes at run
// time: the wasm file is imported as a module, compiled when the worker is deployed.
import wasmModule from './kinesis_edge_bg.wasm';
import { initSync } from './kinesis_edge.js';

initSync({ module: wasmModule });

export * from './exports.js';
