// Whole loop in Node (`npm run bench`, or `node benches/loop.mjs` alone): 500 ~200-byte JSON
// readings per batch, from JS values until every promise has settled, for every producer in ONE
// process. kinesis-edge: `putMany` against a `fetch` option that answers at once with a canned
// 500-entry success answer; the AWS SDK: `send(PutRecordsCommand)` with a request handler that
// answers at once, until `send` resolved (its answer parsed); aws4fetch and the hand-written
// SigV4 (node:crypto): the body and the signature alone (they read no answer).
// Process CPU (`process.cpuUsage`, user + system, all threads) per batch over BATCHES batches;
// ROUNDS rounds, the producers taking turns within each round (the first one rotating), and a
// full garbage collection before each turn so that no producer pays for another's garbage;
// median of the rounds. Beside it: wall time per batch, and the median time from the call to the
// signed request reaching the transport.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { peers, readings } from './peers.mjs';
import { checkSignature } from './sigv4-node.mjs';
import { median, range, printTable, against, lastJson, isMain } from './report.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

export const TARGET_CPU_MS = 1.6;
export const TARGET_VS_SDK = 2.2;

export async function wholeLoop({ rounds = 7, batches = 100, warmup = 50, names = Object.keys(peers) } = {}) {
  await checkSignature();
  const batchOf = {};
  for (const name of names) batchOf[name] = await peers[name]();
  const sets = Array.from({ length: 8 }, (_, i) => readings(500, i + 1));
  for (const name of names) for (let i = 0; i < warmup; i++) await batchOf[name](sets[i % sets.length]).done;
  const runs = Object.fromEntries(names.map((n) => [n, { cpu: [], wall: [], signed: [] }]));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length];
      const batch = batchOf[name];
      if (process.env.BENCH_LOOP_GC !== '0') gc();
      const times = [];
      const cpu0 = process.cpuUsage();
      const wall0 = performance.now();
      for (let i = 0; i < batches; i++) {
        const t0 = performance.now();
        const { signed, done } = batch(sets[i % sets.length]);
        await signed;
        times.push(performance.now() - t0);
        await done;
      }
      const wall = performance.now() - wall0;
      const cpu = process.cpuUsage(cpu0);
      runs[name].cpu.push((cpu.user + cpu.system) / 1000 / batches);
      runs[name].wall.push(wall / batches);
      runs[name].signed.push(median(times));
    }
  }
  return {
    rounds,
    batches,
    node: process.version,
    results: Object.fromEntries(
      names.map((n) => [n, { cpu: median(runs[n].cpu), cpuRange: range(runs[n].cpu), wall: median(runs[n].wall), signed: median(runs[n].signed) }]),
    ),
  };
}

/** Runs the section in a fresh process (so nothing measured before weighs on it). */
export function wholeLoopInChild(env = {}) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--json'], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`whole loop failed: ${r.stderr}`);
  return lastJson(r.stdout);
}

export function printWholeLoop(f) {
  const edge = f.results['kinesis-edge'];
  const sdk = f.results['@aws-sdk/client-kinesis'];
  console.log(
    `Whole loop in Node ${f.node}: 500 ~200-byte JSON readings per batch until every promise settled; process CPU per batch over ${f.batches} batches, ` +
      `${f.rounds} rounds with the producers taking turns in one process (full GC before each turn), median of the rounds`,
  );
  console.log('');
  const what = {
    'kinesis-edge': 'putMany → signed request → canned answer → all settled',
    'kinesis-edge/metrics, detailed': 'the same, gathering every KPL metric per shard',
    '@aws-sdk/client-kinesis': 'send(PutRecordsCommand) → answer parsed',
    aws4fetch: 'body + sign only (no answer)',
    'hand-written SigV4': 'body + SigV4 with node:crypto only (no answer)',
  };
  printTable(
    ['producer', 'what is timed', 'CPU ms per 500 (median)', '(rounds min–max)', 'wall ms per 500', 'ms to signed request (median)', 'SDK CPU / this'],
    Object.entries(f.results).map(([name, r]) => [
      name,
      what[name] ?? '',
      r.cpu.toFixed(3),
      r.cpuRange,
      r.wall.toFixed(3),
      r.signed.toFixed(3),
      sdk ? (sdk.cpu / r.cpu).toFixed(2) + '×' : '',
    ]),
  );
  if (edge) {
    console.log('');
    console.log(`kinesis-edge CPU per 500 readings: ${against(edge.cpu, { atMost: TARGET_CPU_MS, unit: ' ms', digits: 3 })}`);
    if (sdk) console.log(`AWS SDK CPU / kinesis-edge CPU: ${against(sdk.cpu / edge.cpu, { atLeast: TARGET_VS_SDK, unit: '×' })}`);
  }
}

if (isMain(import.meta.url)) {
  const figures = await wholeLoop({
    rounds: Number(process.env.BENCH_ROUNDS ?? 7),
    batches: Number(process.env.BENCH_BATCHES ?? 100),
    names: process.env.BENCH_PEERS ? process.env.BENCH_PEERS.split(',') : undefined,
  });
  if (process.argv.includes('--json')) console.log(JSON.stringify(figures));
  else printWholeLoop(figures);
}
