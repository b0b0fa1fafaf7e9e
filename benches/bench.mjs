// The benchmark command (`npm run bench`): CPU per 500-record batch from JS values to a signed
// request, cold start (fresh process: import + first signed batch), and the min+gzip size of
// each producer's browser bundle, for kinesis-edge and its peers, printed side by side; then the
// same per-batch time in headless Chromium with the browser builds; the cost table: Kinesis
// records, calls and PUT payload units with aggregation off and on; then the
// example ingest worker in real workerd: CPU per request of 100 readings, and its cold start.
// Figures, not assertions: tests never time anything.
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdtempSync, writeFileSync, readdirSync, statSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { peers, readings } from './peers.mjs';
import { costTable } from './cost.mjs';
import { workerFigures } from './worker.mjs';
import { browserFigures } from './browser.mjs';

const here = dirname(fileURLToPath(import.meta.url));
// The AWS SDK (the independent reader / a peer) warns on Node 20 about its 2027 plans.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const root = join(here, '..');
const BATCHES = Number(process.env.BENCH_BATCHES ?? 400);
const WARMUP = 50;
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 5);
const COST_READINGS = Number(process.env.BENCH_COST_READINGS ?? 1_000_000);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

/** Per batch: median wall time to the signed request, and mean CPU of the whole round trip. */
async function cpuPerBatch(name) {
  const batch = await peers[name]();
  const sets = Array.from({ length: 8 }, (_, i) => readings(500, i + 1));
  for (let i = 0; i < WARMUP; i++) await batch(sets[i % sets.length]).done;
  const times = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < BATCHES; i++) {
    const t0 = performance.now();
    const { signed, done } = batch(sets[i % sets.length]);
    await signed;
    times.push(performance.now() - t0);
    await done;
  }
  const cpu = process.cpuUsage(cpu0);
  return { median: median(times), cpuMean: (cpu.user + cpu.system) / 1000 / BATCHES };
}

/** A fresh Node process imports the producer and signs one batch; reports ms since process start. */
function coldStart(name) {
  const script = `
    const t0 = performance.now();
    const { peers, readings } = await import(${JSON.stringify(join(here, 'peers.mjs'))});
    const batch = await peers[${JSON.stringify(name)}]();
    await batch(readings(500)).signed;
    console.log(JSON.stringify({ sinceStart: performance.now(), sinceImport: performance.now() - t0 }));
  `;
  const runs = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cold start of ${name} failed: ${r.stderr}`);
    runs.push(JSON.parse(r.stdout.trim().split('\n').at(-1)));
  }
  return { sinceImport: median(runs.map((r) => r.sinceImport)), sinceStart: median(runs.map((r) => r.sinceStart)) };
}

/** min+gzip bytes of what a browser downloads for each producer, bundled by esbuild. */
function bundleSizes() {
  const dir = mkdtempSync(join(tmpdir(), 'kinesis-edge-bundle-'));
  const entries = {
    'kinesis-edge': `export { KinesisProducer } from 'kinesis-edge';`,
    '@aws-sdk/client-kinesis': `export { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';`,
    aws4fetch: `export { AwsClient } from 'aws4fetch';`,
  };
  const sizes = {};
  for (const [name, source] of Object.entries(entries)) {
    const out = join(dir, name.replace(/[@/]/g, '_'));
    const entry = join(root, `.bench-entry-${out.split('/').at(-1)}.mjs`);
    writeFileSync(entry, source);
    const r = spawnSync(
      join(root, 'node_modules/.bin/esbuild'),
      [entry, '--bundle', '--minify', '--format=esm', '--platform=browser', '--loader:.wasm=file', `--outdir=${out}`, '--log-level=error'],
      { cwd: root, encoding: 'utf8' },
    );
    rmSync(entry);
    if (r.status !== 0) throw new Error(`bundling ${name} failed: ${r.stderr}`);
    let js = 0;
    for (const f of readdirSync(out)) js += gzipSync(readFileSync(join(out, f)), { level: 9 }).length;
    // esbuild leaves `new URL('./x.wasm', import.meta.url)` assets alone: add the wasm the page fetches.
    const wasm = name === 'kinesis-edge' ? gzipSync(readFileSync(join(root, 'pkg/kinesis_edge_bg.wasm')), { level: 9 }).length : 0;
    sizes[name] = { js, wasm, total: js + wasm };
  }
  rmSync(dir, { recursive: true });
  return sizes;
}

// Each peer is measured in a fresh process of its own, so that no peer's modules, JIT state
// or garbage slow another's figures.
const measureOne = process.argv[2] === '--peer' ? process.argv[3] : null;
if (measureOne) {
  console.log(JSON.stringify(await cpuPerBatch(measureOne)));
  process.exit(0);
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** Median over ROUNDS fresh processes, the peers taking turns, so a noisy moment hits all alike. */
function cpuInChildren(names) {
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of names) {
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--peer', name], { cwd: root, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`measuring ${name} failed: ${r.stderr}`);
      runs[name].push(JSON.parse(r.stdout.trim().split('\n').at(-1)));
    }
  }
  return Object.fromEntries(
    names.map((n) => [n, { median: median(runs[n].map((r) => r.median)), cpuMean: median(runs[n].map((r) => r.cpuMean)) }]),
  );
}

const names = Object.keys(peers);
const rows = cpuInChildren(names);
for (const name of names) rows[name].cold = coldStart(name);
const sizes = bundleSizes();
const wasmBytes = statSync(join(root, 'pkg/kinesis_edge_bg.wasm')).size;

const kb = (n) => (n / 1000).toFixed(1) + ' KB';
console.log(`kinesis-edge benchmark — Node ${process.version}, ${BATCHES} batches of 500 ~200-byte JSON readings, signed PutRecords, no network; median of ${ROUNDS} processes each`);
console.log('');
const header = ['producer', 'ms to signed request (median)', 'CPU ms incl. answer (mean)', 'cold: import+1st batch', 'cold: since process start', 'browser bundle min+gzip'];
const table = names.map((n) => [
  n,
  rows[n].median.toFixed(3),
  rows[n].cpuMean.toFixed(3),
  rows[n].cold.sinceImport.toFixed(1) + ' ms',
  rows[n].cold.sinceStart.toFixed(1) + ' ms',
  n === 'kinesis-edge' ? `${kb(sizes[n].total)} (JS ${kb(sizes[n].js)} + wasm ${kb(sizes[n].wasm)})` : kb(sizes[n].total),
]);
function printTable(header, table) {
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const line = (cells) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  console.log(line(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of table) console.log(line(r));
}
printTable(header, table);
console.log('');
console.log(`wasm module: ${wasmBytes} bytes raw, ${sizes['kinesis-edge'].wasm} bytes gzipped`);

const chromium = await browserFigures({ batches: BATCHES });
console.log('');
console.log(`Chromium ${chromium.version} (headless, Debian's): the browser builds on one page, ${chromium.batches} batches of 500 readings each`);
console.log('');
printTable(
  ['producer', 'ms to signed request (mean)', '(median)'],
  Object.entries(chromium.results).map(([name, r]) => [name, r.mean.toFixed(3), r.median.toFixed(3)]),
);

const cost = costTable(COST_READINGS);
console.log('');
console.log(`Cost: ${COST_READINGS.toLocaleString('en')} readings of ~200 bytes from 1,000 devices over a 4-shard stream (kinesis-edge, fresh process each)`);
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

const workerRows = [];
for (const aggregation of ['off', 'on']) workerRows.push(await workerFigures({ aggregation }));
console.log('');
console.log('workerd: the example ingest worker (examples/ingest-worker) in real workerd, forwarding to kinesalite on 127.0.0.1');
console.log('');
printTable(
  ['aggregation', 'readings per request', 'workerd CPU ms per request', 'same, refused at the signature (401)', 'wall ms per request', 'cold start: workerd start to 1st answer'],
  workerRows.map((w) => [
    w.aggregation,
    String(w.readings),
    w.cpuMsPerRequest.toFixed(2),
    w.refusedCpuMsPerRequest.toFixed(2),
    w.wallMsPerRequest.toFixed(2),
    w.coldMs.toFixed(0) + ' ms',
  ]),
);
console.log(`(workerd process CPU over ${workerRows[0].requests} requests, delivery to Kinesis under waitUntil included; the free plan allows 10 ms per request)`);
