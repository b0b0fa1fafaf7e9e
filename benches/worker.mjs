// workerd (`npm run bench`, or `node benches/worker.mjs` alone): the example ingest worker
// (examples/ingest-worker, bundled by `wrangler deploy --dry-run`, kinesis-edge from
// KINESIS_EDGE_PKG or the installed package) in Miniflare's workerd with its queue, KV registry,
// replay guard and rate limiter, forwarding to kinesalite on 127.0.0.1. Three phases in one
// workerd process, CPU read from /proc (user + system of the workerd process, which also runs
// Miniflare's queue broker, KV and Durable Object simulators):
//   1. the queue consumer alone: full batches of 100 single-reading messages put on the queue
//      directly, CPU per reading until all are stored in kinesalite;
//   2. the HTTP handler: signed single-reading requests, CPU per request until all are stored,
//      minus phase 1's consumer cost per reading (what is left: verification, rate limit,
//      replay guard, validation and the enqueue);
//   3. refused requests (a wrong signature, 401), beside it;
// and the deployable bundle (script + wasm, raw and gzip).
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { signDeviceRequest } from 'kinesis-edge';
import { startKinesalite, createStream, readStream, userRecords, TEST_CREDENTIALS } from '../tests/js/support.mjs';
import { startBenchIngest } from './workerd-harness.mjs';
import { printTable, isMain, kb } from './report.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const TICKS_PER_SECOND = 100; // USER_HZ on Linux
const cpuMs = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
};

/** The workerd process Miniflare started for us (a child of this process). */
function workerdPid() {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [, comm, rest] = /^\d+ \((.*)\) (.*)$/s.exec(stat);
      if (comm.startsWith('workerd') && Number(rest.split(' ')[1]) === process.pid) return Number(pid);
    } catch {
      // a process that ended while listed
    }
  }
  throw new Error('no workerd child process found');
}

const DEVICES = 50;
const secret = 'whsec_' + Buffer.from('kinesis-edge-bench-device-secret').toString('base64');
const deviceId = (i) => `bench-${i % DEVICES}`;
const reading = (i) => ({ temperature: 20 + (i % 50) / 10, humidity: 45, battery: 80, ts: 1_764_000_000_000 + i });

async function storedReadings(client, stream) {
  return (await readStream(client, stream)).reduce((n, r) => n + userRecords(r.Data).length, 0);
}

async function waitStored(client, stream, expected) {
  for (let i = 0; i < 600; i++) {
    if ((await storedReadings(client, stream)) >= expected) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('readings missing in kinesalite');
}

async function postAll(url, requests, concurrency = 16) {
  let next = 0;
  const statuses = {};
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests.length) {
        const { headers, body } = requests[next++];
        const r = await fetch(`${url}/ingest`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
        await r.arrayBuffer();
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      }
    }),
  );
  return statuses;
}

export async function workerFigures({ readings = 3000 } = {}) {
  const k = await startKinesalite();
  const stream = 'bench-ingest';
  await createStream(k.client, stream, 4);
  const devices = Object.fromEntries(Array.from({ length: DEVICES }, (_, i) => [deviceId(i), { secret, schema: 'thermometer' }]));
  const ingest = await startBenchIngest({ kinesisEndpoint: k.endpoint, stream, region: 'us-east-1', credentials: TEST_CREDENTIALS, devices });
  try {
    const pid = workerdPid();
    const queue = await ingest.mf.getQueueProducer('INGEST_QUEUE', 'ingest');
    const now = Date.now();
    let stored = 0;
    const enqueue = async (from, n) => {
      for (let i = from; i < from + n; i += 100) {
        const batch = Array.from({ length: Math.min(100, from + n - i) }, (_, j) => ({
          body: { webhookId: `msg_q${i + j}`, deviceId: deviceId(i + j), receivedAt: now, attempt: 0, entries: [[0, reading(i + j)]] },
          contentType: 'json',
        }));
        await queue.sendBatch(batch);
      }
      stored += n;
      await waitStored(k.client, stream, stored);
    };
    // Warm-up: the shard map, the isolate, the Durable Objects and the registry cache.
    await enqueue(0, 500);
    const signed = async (i, key = secret) => {
      const body = JSON.stringify(reading(i));
      return { body, headers: await signDeviceRequest({ deviceId: deviceId(i), secret: key, body, id: `msg_h${i}` }) };
    };
    const warm = await Promise.all(Array.from({ length: 200 }, (_, i) => signed(i)));
    await postAll(ingest.url, warm);
    stored += warm.length;
    await waitStored(k.client, stream, stored);

    // 1. The consumer alone, full batches.
    let t0 = cpuMs(pid);
    await enqueue(100_000, readings);
    const consumerPerReading = (cpuMs(pid) - t0) / readings;

    // 2. The HTTP handler (its readings consumed too; the consumer's share is taken off).
    const requests = await Promise.all(Array.from({ length: readings }, (_, i) => signed(200_000 + i)));
    t0 = cpuMs(pid);
    const statuses = await postAll(ingest.url, requests);
    if (statuses[202] !== readings) throw new Error(`accepted: ${JSON.stringify(statuses)}`);
    stored += readings;
    await waitStored(k.client, stream, stored);
    const acceptedPerRequest = (cpuMs(pid) - t0) / readings;

    // 3. Refused at the signature.
    const wrong = 'whsec_' + Buffer.from('not-the-device-secret-at-all-000').toString('base64');
    const refusedRequests = await Promise.all(Array.from({ length: readings }, (_, i) => signed(300_000 + i, wrong)));
    t0 = cpuMs(pid);
    const refusedStatuses = await postAll(ingest.url, refusedRequests);
    if (refusedStatuses[401] !== readings) throw new Error(`refused: ${JSON.stringify(refusedStatuses)}`);
    const refusedPerRequest = (cpuMs(pid) - t0) / readings;

    const sizes = Object.entries(ingest.bundle.bytes).map(([name, bytes]) => ({ name, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length }));
    return {
      readings,
      consumerPerReading,
      acceptedPerRequest,
      handlerPerRequest: acceptedPerRequest - consumerPerReading,
      refusedPerRequest,
      sizes,
      bundledFrom: ingest.bundle.sources.filter((s) => !s.includes('examples/ingest-worker')).map((s) => s.replace(/^(\.\.\/)+/, '/'))[0] ?? '?',
    };
  } finally {
    await ingest.stop();
    await k.close();
  }
}

export function printWorker(f) {
  console.log(
    `workerd: the example ingest worker (examples/ingest-worker, wrangler deploy --dry-run; kinesis-edge from ${f.bundledFrom.replace(/\/[^/]+$/, '/')}) ` +
      `in Miniflare's workerd with its queue, KV, Durable Objects and rate limiter, forwarding to kinesalite on 127.0.0.1 (4 shards); ` +
      `workerd process CPU (Miniflare's simulators included) over ${f.readings} single-reading requests or messages per phase`,
  );
  console.log('');
  printTable(
    ['phase', 'workerd CPU ms'],
    [
      ['queue consumer, full batches of 100: per reading', f.consumerPerReading.toFixed(3)],
      ['signed request accepted and its reading delivered: per request', f.acceptedPerRequest.toFixed(3)],
      ['  of which the HTTP handler (minus the consumer per reading)', f.handlerPerRequest.toFixed(3)],
      ['request refused at the signature (401): per request', f.refusedPerRequest.toFixed(3)],
    ],
  );
  console.log('');
  printTable(
    ['deployable bundle', 'bytes', 'gzip -9'],
    [...f.sizes.map((s) => [s.name, kb(s.raw), kb(s.gzip)]), ['total', kb(f.sizes.reduce((n, s) => n + s.raw, 0)), kb(f.sizes.reduce((n, s) => n + s.gzip, 0))]],
  );
  console.log(`(/proc counts CPU in 10 ms ticks: ±${(10 / f.readings).toFixed(3)} ms per request over ${f.readings}; the free plan allows 10 ms per invocation)`);
}

if (isMain(import.meta.url)) {
  const figures = await workerFigures({ readings: Number(process.env.BENCH_WORKER_READINGS ?? 3000) });
  if (process.argv.includes('--json')) console.log(JSON.stringify(figures));
  else printWorker(figures);
}
