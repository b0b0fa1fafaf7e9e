// The bytes a page pays for the package are a budget, checked on every build: a page importing
// only KinesisProducer from the browser entry, and one importing every export, bundled by esbuild
// (minified, split), gzip -9 of the JS it loads plus the .wasm (the benchmark's own measure,
// benches/bytes.mjs). The lean-core issue's goal was 53 KB and 65 KB; BENCHMARKS.md says where
// every byte goes and what each later feature added (stream settings 3.2 KB, the rate limiter
// and its review fixes 3.2 KB, new exports in every-export pages only). Growth past these needs
// a reason and a new budget. CloudWatch metrics live in a second build of the wasm, loaded only
// through `kinesis-edge/metrics`: the default pages must not carry any of their code.
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { pageBytes } from '../../benches/bytes.mjs';

const entry = JSON.stringify(new URL('../../pkg/browser.js', import.meta.url).pathname);
const metricsEntry = JSON.stringify(new URL('../../pkg/metrics-browser.js', import.meta.url).pathname);
const BUDGET = {
  producerOnly: 84_000,
  everyExport: 89_000,
  // Measured 91,754: the producer-only page plus the metrics' wasm (+8.3 KB) and glue (+0.7 KB).
  producerWithMetrics: 92_000,
};
// Names only the metrics' code has: the PutMetricData encoder (wasm) and its JS glue.
const METRICS_MARKS = { wasm: ['PutMetricData', 'KinesisProducerLibrary', 'StatisticValues'], js: ['metricsPoll', 'metricsDueAt'] };

test('a producer-only page and an every-export page stay within their byte budgets', async () => {
  const producer = await pageBytes(`export { KinesisProducer } from ${entry};`);
  const every = await pageBytes(`export * from ${entry};`);
  const shown = (p) => `${p.total} bytes (JS ${p.js}, wasm ${p.wasm})`;
  assert.ok(producer.wasm > 0 && producer.js > 0, 'both the JS and the wasm are counted');
  assert.ok(producer.total <= BUDGET.producerOnly, `producer-only page: ${shown(producer)} > ${BUDGET.producerOnly}`);
  assert.ok(every.total <= BUDGET.everyExport, `every-export page: ${shown(every)} > ${BUDGET.everyExport}`);
  // Pieces a producer-only page does not use stay out of it: the reader, Cognito, the spool.
  assert.deepEqual(producer.exportNames, ['KinesisProducer']);
  assert.ok(producer.lazy > 1_000, 'the spool is a chunk of its own, loaded only with spool: indexeddb');
  assert.ok(every.js - producer.js > 2_000, 'the reader and Cognito ride only in pages that import them');
});

test('pages of the default entry carry none of the metrics code; the metrics entry carries all of it', async () => {
  const plain = await pageBytes(`export * from ${entry};`);
  const metrics = await pageBytes(`export { KinesisProducer } from ${metricsEntry};`);
  assert.deepEqual(plain.fetched, ['kinesis_edge_bg.wasm']);
  assert.deepEqual(metrics.fetched, ['kinesis_edge_metrics_bg.wasm'], 'one wasm per page, never both');
  const wasmText = (name) => readFileSync(new URL(`../../pkg/${name}`, import.meta.url)).toString('latin1');
  for (const mark of METRICS_MARKS.wasm) {
    assert.ok(!wasmText('kinesis_edge_bg.wasm').includes(mark), `default wasm holds ${mark}`);
    assert.ok(wasmText('kinesis_edge_metrics_bg.wasm').includes(mark), `metrics wasm lacks ${mark}`);
  }
  for (const mark of METRICS_MARKS.js) {
    assert.ok(!plain.source.includes(mark), `a default page's JS (lazy chunks too) holds ${mark}`);
    assert.ok(metrics.source.includes(mark), `the metrics page lacks ${mark}`);
  }
  assert.ok(metrics.total <= BUDGET.producerWithMetrics, `metrics page: ${metrics.total} > ${BUDGET.producerWithMetrics}`);
});
