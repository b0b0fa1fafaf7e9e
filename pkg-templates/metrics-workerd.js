// `kinesis-edge/metrics` for Cloudflare Workers / workerd: workerd.js with the wasm build that
// carries the CloudWatch metrics (the `metrics` option).
import wasmModule from './kinesis_edge_metrics_bg.wasm';
import { initSync } from './kinesis_edge.js';
import { requireMetricsBuild } from './metrics-build.js';

requireMetricsBuild(initSync({ module: wasmModule }));

export * from './metrics-exports.js';
