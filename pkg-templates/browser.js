// Entry point for browsers and bundlers: fetches the wasm file next to this module (bundlers
// rewrite the URL to their emitted asset) and hashes with WebCrypto.
import init from './kinesis_edge.js';

await init({ module_or_path: new URL('./kinesis_edge_bg.wasm', import.meta.url) });

export * from './exports.js';
