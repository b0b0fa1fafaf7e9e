// The benchmark command (`npm run bench`): kinesis-edge beside its peers, one section per target,
// each printing its table with the target beside our figure, then a summary of the targets.
// Figures, not assertions: tests never time anything, and a missed target fails nothing.
//
//   loop       whole loop in Node, in one process with the peers (benches/loop.mjs)
//   cold       cold start in Node, fresh processes (benches/cold.mjs)
//   sustained  sustained over real sockets to a loopback stand-in (benches/sustained.mjs)
//   chromium   whole loop in headless Chromium, cross-origin isolated (benches/browser.mjs)
//   bytes      min+gzip of a page: KinesisProducer only, every export (benches/bytes.mjs)
//   cost       Kinesis records, calls and PUT payload units, aggregation off/on (benches/cost.mjs)
//   workerd    the example ingest worker in Miniflare's workerd: consumer, handler, refusals, bundle (benches/worker.mjs)
//   shards     a hot key against per-shard limits, rateLimit off and on (benches/shards.mjs)
//
// The package measured: KINESIS_EDGE_PKG (a built package directory), else the installed
// kinesis-edge (benches/pkg.mjs). BENCH_ONLY=loop,cold picks sections; BENCH_QUICK=1 shortens
// every section (for development, not for figures); each section's own variables are listed in
// benches/README.md. Each section also runs alone: `node benches/<file>` (or `npm run bench:<name>`).
import { cpus, loadavg } from 'node:os';
import { pkgLabel, pkgVersion } from './pkg.mjs';
import { printTable, kb } from './report.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
if (process.env.BENCH_QUICK === '1') {
  for (const [name, value] of Object.entries({
    BENCH_ROUNDS: '3',
    BENCH_COLD_RUNS: '5',
    BENCH_SUSTAINED_S: '3',
    BENCH_SUSTAINED_WARMUP_S: '1',
    BENCH_COST_READINGS: '200000',
    BENCH_WORKER_READINGS: '500',
    BENCH_SHARDS_S: '8',
  })) {
    process.env[name] ??= value;
  }
}
const env = (name, fallback) => Number(process.env[name] ?? fallback);
const ALL = ['loop', 'cold', 'sustained', 'chromium', 'bytes', 'cost', 'workerd', 'shards'];
const only = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',').map((s) => s.trim()) : ALL;
for (const s of only) if (!ALL.includes(s)) throw new Error(`BENCH_ONLY: unknown section ${s} (sections: ${ALL.join(', ')})`);

const summary = [];
const failed = [];
const started = performance.now();

async function section(name, run) {
  if (!only.includes(name)) return;
  console.log('');
  console.log(`## ${name}`);
  console.log('');
  const t0 = performance.now();
  try {
    await run();
  } catch (e) {
    failed.push(name);
    console.log(`(section ${name} failed: ${e.stack ?? e})`);
  }
  console.error(`[bench] ${name}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

const met = (ok) => (ok ? 'met' : 'missed');

console.log(`kinesis-edge benchmark — package under test: ${pkgLabel}, version ${pkgVersion()}`);
console.log(`Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

await section('loop', async () => {
  const { wholeLoopInChild, printWholeLoop, TARGET_CPU_MS, TARGET_VS_SDK } = await import('./loop.mjs');
  const f = wholeLoopInChild({ BENCH_ROUNDS: String(env('BENCH_ROUNDS', 7)), BENCH_BATCHES: String(env('BENCH_BATCHES', 100)) });
  printWholeLoop(f);
  const edge = f.results['kinesis-edge'];
  const sdk = f.results['@aws-sdk/client-kinesis'];
  summary.push(['Node whole loop: CPU per 500 readings', `≤ ${TARGET_CPU_MS} ms`, `${edge.cpu.toFixed(3)} ms`, met(edge.cpu <= TARGET_CPU_MS)]);
  summary.push(['Node whole loop: AWS SDK CPU / ours', `≥ ${TARGET_VS_SDK}×`, `${(sdk.cpu / edge.cpu).toFixed(2)}×`, met(sdk.cpu / edge.cpu >= TARGET_VS_SDK)]);
});

await section('cold', async () => {
  const { coldStart, printColdStart, TARGET_COLD_MS } = await import('./cold.mjs');
  const f = coldStart({ runs: env('BENCH_COLD_RUNS', 10) });
  printColdStart(f);
  const edge = f.results['kinesis-edge'].sinceImport;
  const hand = f.results['hand-written SigV4'].sinceImport;
  summary.push(['Node cold start: import → 1st signed request', `≤ ${TARGET_COLD_MS} ms`, `${edge.toFixed(1)} ms`, met(edge <= TARGET_COLD_MS)]);
  summary.push(['Node cold start: below hand-written SigV4', `< ${hand.toFixed(1)} ms`, `${edge.toFixed(1)} ms`, met(edge < hand)]);
});

await section('sustained', async () => {
  const { sustained, printSustained, TARGET_RECORDS_PER_S } = await import('./sustained.mjs');
  const f = await sustained({
    seconds: env('BENCH_SUSTAINED_S', 10),
    warmupSeconds: env('BENCH_SUSTAINED_WARMUP_S', 2),
    rounds: env('BENCH_SUSTAINED_ROUNDS', 1),
  });
  printSustained(f);
  const edge = f.results.edge.recordsPerSecond;
  const sdk = f.results.sdk.recordsPerSecond;
  const n = (x) => Math.round(x).toLocaleString('en');
  summary.push(['Sustained over sockets: acknowledged records/s', `≥ ${n(TARGET_RECORDS_PER_S)}`, n(edge), met(edge >= TARGET_RECORDS_PER_S)]);
  summary.push(['Sustained over sockets: ahead of the AWS SDK', `> ${n(sdk)}`, n(edge), met(edge > sdk)]);
});

await section('chromium', async () => {
  const { browserFigures, printBrowser, TARGET_LOOP_MS, TARGET_VS_SDK } = await import('./browser.mjs');
  const f = await browserFigures({ rounds: env('BENCH_ROUNDS', 7), batches: env('BENCH_BATCHES', 100) });
  printBrowser(f);
  const edge = f.results['kinesis-edge'].loop;
  const sdk = f.results['@aws-sdk/client-kinesis'].loop;
  summary.push(['Chromium whole loop: ms per 500 readings', `≤ ${TARGET_LOOP_MS} ms`, `${edge.toFixed(3)} ms`, met(edge <= TARGET_LOOP_MS)]);
  summary.push(['Chromium whole loop: AWS SDK / ours', `≥ ${TARGET_VS_SDK}×`, `${(sdk / edge).toFixed(2)}×`, met(sdk / edge >= TARGET_VS_SDK)]);
});

await section('bytes', async () => {
  const { bundleBytes, printBytes, TARGET_PRODUCER_ONLY, TARGET_EVERY_EXPORT } = await import('./bytes.mjs');
  const f = await bundleBytes();
  printBytes(f);
  const one = f.sizes['kinesis-edge: KinesisProducer only'].total;
  const every = f.sizes['kinesis-edge: every export'].total;
  summary.push(['Bytes: page with KinesisProducer only (JS + wasm, gzip)', `≤ ${kb(TARGET_PRODUCER_ONLY)}`, kb(one), met(one <= TARGET_PRODUCER_ONLY)]);
  summary.push(['Bytes: page with every export (JS + wasm, gzip)', `≤ ${kb(TARGET_EVERY_EXPORT)}`, kb(every), met(every <= TARGET_EVERY_EXPORT)]);
});

await section('cost', async () => {
  const { costTable } = await import('./cost.mjs');
  const total = env('BENCH_COST_READINGS', 1_000_000);
  const cost = costTable(total);
  console.log(`Cost: ${total.toLocaleString('en')} readings of ~200 bytes from 1,000 devices over a 4-shard stream (kinesis-edge, fresh process each)`);
  console.log('');
  printTable(
    ['aggregation', 'Kinesis records', 'PutRecords calls', 'PUT payload units', 'units vs off', 'CPU µs per reading'],
    ['off', 'on'].map((mode) => [
      mode === 'on' ? `on (${cost[mode].mode})` : 'off',
      cost[mode].kinesisRecords.toLocaleString('en'),
      cost[mode].calls.toLocaleString('en'),
      cost[mode].units.toLocaleString('en'),
      mode === 'on' ? `${(cost.off.units / cost.on.units).toFixed(0)}x fewer` : '1x',
      cost[mode].cpuUsPerReading.toFixed(2),
    ]),
  );
});

await section('workerd', async () => {
  const { workerFigures, printWorker } = await import('./worker.mjs');
  const f = await workerFigures({ readings: env('BENCH_WORKER_READINGS', 3000) });
  printWorker(f);
  // A figure, not a target: Miniflare's queue broker runs in the same process and is counted.
  summary.push(['workerd: ingest queue consumer CPU per reading, full batches (Miniflare included)', '—', `${f.consumerPerReading.toFixed(3)} ms`, '']);
});

await section('shards', async () => {
  const { shardLimitRuns, printShardLimits, TARGET_THROTTLED, TARGET_SLOWER } = await import('./shards.mjs');
  const f = await shardLimitRuns();
  printShardLimits(f);
  const on = f.runs.find((r) => r.rateLimit);
  const share = on.throttled / on.entries;
  const over = (on.seconds - on.ideal) / on.ideal;
  summary.push(['Hot shard, rateLimit: entries throttled', `≤ ${100 * TARGET_THROTTLED} %`, `${(100 * share).toFixed(2)} %`, met(share <= TARGET_THROTTLED)]);
  summary.push(['Hot shard, rateLimit: time over ideal', `≤ ${100 * TARGET_SLOWER} %`, `${(100 * over).toFixed(1)} %`, met(over <= TARGET_SLOWER)]);
});

console.log('');
console.log('## targets');
console.log('');
printTable(['target', 'goal', 'kinesis-edge', ''], summary);
console.log('');
console.log(
  `(${((performance.now() - started) / 1000).toFixed(0)} s; load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}` +
    `${failed.length ? `; sections that FAILED: ${failed.join(', ')}` : ''})`,
);
if (failed.length) process.exitCode = 1;
