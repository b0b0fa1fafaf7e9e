// Entry point with the wasm inlined as base64 and instantiated synchronously: no top-level await
// and no fetch, so it loads where those are not allowed or not understood: service workers
// (which refuse top-level await) and bundlers that do not turn `new URL('./x.wasm',
// import.meta.url)` into an asset (esbuild). `import ... from 'kinesis-edge/inline'` needs no
// configuration, at the cost of a third more bytes before compression than the wasm file, and a
// synchronous compile. scripts/build.sh fills in the bytes.
import { initSync } from './kinesis_edge.js';

const WASM_BASE64 = '__KINESIS_EDGE_WASM_BASE64__';

initSync({ module: Uint8Array.from(atob(WASM_BASE64), (c) => c.charCodeAt(0)) });

export * from './exports.js';
