// Entry point for browsers and bundlers: fetches the wasm file next to this module (bundlers
// rewrite the URL to their emitted asset) and hashes with WebCrypto.
import { loadWasm } from './wasm-load.js';

await loadWasm(new URL('./kinesis_edge_bg.wasm', import.meta.url));

export * from './exports.js';
