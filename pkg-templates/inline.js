// Entry point with the wasm inlined as base64, for bundlers that do not turn
// `new URL('./x.wasm', import.meta.url)` into an asset (esbuild): `import ... from
// 'kinesis-edge/inline'` needs no bundler configuration, at the cost of a third more bytes
// before compression than the wasm file. scripts/build.sh fills in the bytes.
import init from './kinesis_edge.js';

const WASM_BASE64 = '__KINESIS_EDGE_WASM_BASE64__';

await init({ module_or_path: Uint8Array.from(atob(WASM_BASE64), (c) => c.charCodeAt(0)) });

export * from './exports.js';
