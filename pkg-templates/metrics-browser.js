// `kinesis-edge/metrics` for browsers and bundlers: browser.js with the wasm build that carries
// the CloudWatch metrics (the `metrics` option), so only pages that publish them pay for them.
import init from './kinesis_edge.js';
import { requireMetricsBuild } from './metrics-build.js';

requireMetricsBuild(await init({ module_or_path: new URL('./kinesis_edge_metrics_bg.wasm', import.meta.url) }));

export * from './metrics-exports.js';
