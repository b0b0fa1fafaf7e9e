// `kinesis-edge/metrics` for Node.js, Deno and Bun: node.js with the wasm build that carries the
// CloudWatch metrics (the `metrics` option).
import { startNode } from './node-host.js';

startNode(new URL('./kinesis_edge_metrics_bg.wasm', import.meta.url));

export * from './metrics-exports.js';
