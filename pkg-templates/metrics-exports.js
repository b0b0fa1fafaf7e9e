// What the `kinesis-edge/metrics` entries export: every export of the default entries, with
// producers able to load the CloudWatch uploads (metrics.js, a chunk loaded by the first
// producer with `metrics` on).
import { host } from './host.js';

host.loadMetrics = () => import('./metrics.js');

export * from './exports.js';
