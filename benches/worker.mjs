// workerd (`npm run bench`, or `node benches/worker.mjs` alone): the example ingest worker
// (examples/ingest-worker, bundled by `wrangler deploy --dry-run`, kinesis-edge from
// KINESIS_EDGE_PKG or the installed package) in real workerd, forwarding to kinesalite on
// 127.0.0.1. Three workerd processes from the same bundle: aggregation off, aggregation on, and
// the baseline `FORWARD=off` (authenticated and validated exactly the same, then answered 202
// without a producer), so that "forwarded minus baseline" is kinesis-edge's own cost (producer,
// putMany, signing, the PutRecords subrequest and its answer). CPU: each workerd's own process
// CPU (user + system from /proc) over REQUESTS requests of 100 readings, the three taking turns
// in rounds, counted once every delivery (under ctx.waitUntil) is stored in kinesalite. Also:
// the same requests refused at the signature (401, no validation), and each worker's cold start
// (workerd spawned to the answer to its first request).
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startKinesalite, createStream, readStream, userRecords, TEST_CREDENTIALS } from '../tests/js/support.mjs';
import { bundleWorker, startWorkerd } from './workerd-harness.mjs';
import { printTable, against, isMain } from './report.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
export const TARGET_GAP_MS = 1.0;
const TICKS_PER_SECOND = 100; // USER_HZ on Linux
const cpuMs = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
};

const device = { id: 'bench-1', secret: 'bench-hmac-key' };
const body = (n, offset) =>
  JSON.stringify(Array.from({ length: n }, (_, i) => ({ temperature: 20 + ((offset + i) % 50) / 10, humidity: 45, battery: 80, ts: 1_764_000_000_000 + offset + i })));
const sign = (text) => 'sha256=' + createHmac('sha256', device.secret).update(text).digest('hex');
const post = (url, text, signature = sign(text)) =>
  fetch(`${url}/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-device-id': device.id, 'x-signature': signature },
    body: text,
  });

const WORKERS = {
  off: { label: 'forwarded, aggregation off', vars: { AGGREGATION: 'off', STREAM_NAME: 'bench-off' }, stream: 'bench-off' },
  on: { label: 'forwarded, aggregation on', vars: { AGGREGATION: 'on', STREAM_NAME: 'bench-on' }, stream: 'bench-on' },
  baseline: { label: 'baseline: FORWARD=off (authenticated + validated, not forwarded)', vars: { AGGREGATION: 'on', STREAM_NAME: 'bench-on', FORWARD: 'off' } },
};

async function storedReadings(client, stream) {
  return (await readStream(client, stream)).reduce((n, r) => n + userRecords(r.Data).length, 0);
}

async function waitStored(client, stream, expected) {
  for (let i = 0; i < 400; i++) {
    if ((await storedReadings(client, stream)) >= expected) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

export async function workerFigures({ requests = 300, readings = 100, rounds = 3, warmup = 20 } = {}) {
  const bundle = await bundleWorker();
  const k = await startKinesalite();
  const started = {};
  try {
    for (const w of Object.values(WORKERS)) if (w.stream) await createStream(k.client, w.stream, 4);
    const common = {
      AWS_REGION: 'us-east-1',
      KINESIS_ENDPOINT: k.endpoint,
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      DEVICES: JSON.stringify({ [device.id]: { secret: device.secret, schema: 'thermometer' } }),
    };
    const names = Object.keys(WORKERS);
    const sent = Object.fromEntries(names.map((n) => [n, 0]));
    const send = async (name, n = 1) => {
      for (let i = 0; i < n; i++) {
        const r = await post(started[name].url, body(readings, sent[name] * readings));
        if (r.status !== 202) throw new Error(`${name}: request ${sent[name]}: ${r.status} ${await r.text()}`);
        sent[name]++;
      }
    };
    const cold = {};
    for (const name of names) {
      started[name] = await startWorkerd(bundle, { ...common, ...WORKERS[name].vars });
      await send(name);
      cold[name] = performance.now() - started[name].startedAt;
    }
    for (const name of names) await send(name, warmup);
    const delivered = async () => {
      for (const name of names) {
        const { stream } = WORKERS[name];
        if (stream && !(await waitStored(k.client, stream, sent[name] * readings))) throw new Error(`${name}: deliveries missing in kinesalite`);
      }
    };
    await delivered();
    const cpu0 = Object.fromEntries(names.map((n) => [n, cpuMs(started[n].pid)]));
    const wall = Object.fromEntries(names.map((n) => [n, 0]));
    const counted = Object.fromEntries(names.map((n) => [n, 0]));
    const perTurn = Math.ceil(requests / rounds);
    for (let round = 0; round < rounds; round++) {
      for (let j = 0; j < names.length; j++) {
        const name = names[(round + j) % names.length];
        const n = Math.min(perTurn, requests - counted[name]);
        const t0 = performance.now();
        await send(name, n);
        wall[name] += performance.now() - t0;
        counted[name] += n;
      }
    }
    await delivered();
    const cpu = Object.fromEntries(names.map((n) => [n, (cpuMs(started[n].pid) - cpu0[n]) / counted[n]]));
    // Refused at the signature (401): workerd's HTTP handling and the HMAC check, no validation.
    const refused0 = cpuMs(started.baseline.pid);
    for (let i = 0; i < requests; i++) {
      const r = await post(started.baseline.url, body(readings, i * readings), 'sha256=' + '0'.repeat(64));
      if (r.status !== 401) throw new Error(`refused request ${i}: ${r.status}`);
    }
    const refusedCpu = (cpuMs(started.baseline.pid) - refused0) / requests;
    return {
      requests,
      readings,
      rounds,
      bundledFrom: bundle.sources.filter((s) => !s.includes('examples/ingest-worker')).map((s) => s.replace(/^(\.\.\/)+/, '/'))[0] ?? '?',
      rows: Object.fromEntries(names.map((n) => [n, { cpuMsPerRequest: cpu[n], wallMsPerRequest: wall[n] / counted[n], coldMs: cold[n] }])),
      refusedCpuMsPerRequest: refusedCpu,
    };
  } finally {
    for (const w of Object.values(started)) await w.stop();
    await k.close();
    bundle.remove();
  }
}

export function printWorker(f) {
  console.log(
    `workerd: the example ingest worker (examples/ingest-worker, wrangler deploy --dry-run; kinesis-edge from ${f.bundledFrom.replace(/\/[^/]+$/, '/')}) in real workerd, ` +
      `forwarding to kinesalite on 127.0.0.1; workerd process CPU per request of ${f.readings} readings over ${f.requests} requests, the three workers taking turns in ${f.rounds} rounds, deliveries under waitUntil included`,
  );
  console.log('');
  const base = f.rows.baseline.cpuMsPerRequest;
  printTable(
    ['worker', 'workerd CPU ms per request', 'minus baseline (kinesis-edge\'s own cost)', 'wall ms per request', 'cold start: workerd start to 1st answer'],
    [
      ...Object.entries(f.rows).map(([name, r]) => [
        WORKERS[name].label,
        r.cpuMsPerRequest.toFixed(2),
        name === 'baseline' ? '—' : (r.cpuMsPerRequest - base).toFixed(2),
        r.wallMsPerRequest.toFixed(2),
        r.coldMs.toFixed(0) + ' ms',
      ]),
      ['refused at the signature (401, not validated)', f.refusedCpuMsPerRequest.toFixed(2), '', '', ''],
    ],
  );
  console.log('');
  console.log(`kinesis-edge's cost per request, aggregation on (forwarded − baseline): ${against(f.rows.on.cpuMsPerRequest - base, { atMost: TARGET_GAP_MS, unit: ' ms' })}`);
  console.log(`(/proc counts CPU in 10 ms ticks: ±${(10 / f.requests).toFixed(2)} ms per request over ${f.requests} requests; the free plan allows 10 ms per request)`);
}

if (isMain(import.meta.url)) {
  const figures = await workerFigures({ requests: Number(process.env.BENCH_WORKER_REQUESTS ?? 300), rounds: Number(process.env.BENCH_WORKER_ROUNDS ?? 3) });
  if (process.argv.includes('--json')) console.log(JSON.stringify(figures));
  else printWorker(figures);
}
