// The `kinesis-edge/metrics` entries' check that the wasm serving them is the metrics build. Both
// builds share one JS glue, which holds one instance per page or worker: where `kinesis-edge` was
// loaded first, its build (without the metrics) serves both entries.
import { kinesisError } from './errors.js';

/** `wasm`: the instance's exports, as the glue's init returns them. */
export function requireMetricsBuild(wasm) {
  if (typeof wasm.metricsPoll !== 'function') {
    throw kinesisError(
      'InvalidOption',
      '`kinesis-edge/metrics` was loaded after `kinesis-edge`, whose wasm (without metrics) serves both now: import only `kinesis-edge/metrics` on this page or worker',
      { field: 'metrics' },
    );
  }
}
