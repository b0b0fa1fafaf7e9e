// Loads the wasm once per page, whichever browser entry asks first. Both builds (with and without
// CloudWatch metrics) share one JS glue, kinesis_edge.js, which holds one instance: a page that
// imports both `kinesis-edge` and `kinesis-edge/metrics` must not instantiate twice (objects
// made by the first instance would break). The first entry's build serves the page.
import init from './kinesis_edge.js';

let loading = null;

export const loadWasm = (url) => (loading ??= init({ module_or_path: url }));
