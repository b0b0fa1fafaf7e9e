// `kinesis-edge/metrics` for browsers and bundlers: browser.js with the wasm build that carries
// the CloudWatch metrics (the `metrics` option), so only pages that publish them pay for them.
import { loadWasm } from './wasm-load.js';

await loadWasm(new URL('./kinesis_edge_metrics_bg.wasm', import.meta.url));

export * from './metrics-exports.js';
