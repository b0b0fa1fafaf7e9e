// Sustained throughput over real sockets in Node (`npm run bench`, or `node benches/sustained.mjs`
// alone): one producer in a process of its own keeps 8 calls of 500 readings in flight, sending
// over HTTP to the loopback stand-in (benches/standin.mjs: node:http on 127.0.0.1, keep-alive,
// every entry acknowledged at once) in another process. The readings come from a pool made
// before the clock starts (POOL batches of 500, cycled), so making them costs nothing in the loop.
// After a warm-up, over a fixed window: acknowledged records per second, the producer process's
// CPU per record (process.cpuUsage, all threads), and the stand-in's CPU.
// Rows: kinesis-edge with its default transport in Node (today the global fetch, undici);
// kinesis-edge with a `fetch` option wrapping the global fetch, so a transport change shows; the
// AWS SDK with a keep-alive NodeHttpHandler (http.Agent keepAlive, maxSockets 8), 8 sends of 500.
import { spawn, spawnSync } from 'node:child_process';
import { request, Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';
import { REGION, STREAM, CREDENTIALS, readings } from './peers-common.mjs';
import { importKinesisEdge } from './pkg.mjs';
import { median, printTable, against, lastJson, isMain } from './report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const TARGET_RECORDS_PER_S = 200_000;
const LANES = 8;
const BATCH = 500;
const POOL = 64;

export const ROWS = {
  edge: 'kinesis-edge (default transport)',
  'edge-fetch': 'kinesis-edge, fetch: (u, i) => globalThis.fetch(u, i)',
  sdk: '@aws-sdk/client-kinesis, NodeHttpHandler keep-alive',
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function standInStats(port) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/__stats', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d) => (text += d)).on('end', () => resolve(JSON.parse(text)));
    });
    req.on('error', reject).end();
  });
}

/** `send(batch)` -> records acknowledged (resolves), and `close()`, for one row. */
async function setUp(row, endpoint) {
  if (row === 'sdk') {
    const { KinesisClient, PutRecordsCommand } = await import('@aws-sdk/client-kinesis');
    const { NodeHttpHandler } = await import('@smithy/node-http-handler');
    const client = new KinesisClient({
      region: REGION,
      endpoint,
      credentials: CREDENTIALS,
      requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: LANES }) }),
    });
    const encoder = new TextEncoder();
    let inFlight = 0;
    return {
      send: async (batch) => {
        inFlight++;
        const out = await client.send(
          new PutRecordsCommand({
            StreamName: STREAM,
            Records: batch.map((r) => ({ Data: encoder.encode(JSON.stringify(r.data)), PartitionKey: r.partitionKey })),
          }),
        ).finally(() => inFlight--);
        return batch.length - (out.FailedRecordCount ?? 0);
      },
      inFlight: () => inFlight,
      close: async () => client.destroy(),
    };
  }
  const { KinesisProducer } = await importKinesisEdge();
  const producer = new KinesisProducer({
    region: REGION,
    streamName: STREAM,
    endpoint,
    credentials: CREDENTIALS,
    maxInFlightRequests: LANES,
    ...(row === 'edge-fetch' ? { fetch: (url, init) => globalThis.fetch(url, init) } : {}),
  });
  return {
    send: (batch) =>
      producer.putMany(batch).then(
        (results) => results.length,
        (e) => e.results?.filter((r) => r.status === 'fulfilled').length ?? 0,
      ),
    inFlight: () => producer.stats().inFlightRequests,
    close: () => producer.close(),
  };
}

/** In the producer's process: warm up, then measure over `seconds`. */
async function measureRow(row, port, seconds, warmupSeconds) {
  const pool = Array.from({ length: POOL }, (_, i) => readings(BATCH, i + 1));
  const producer = await setUp(row, `http://127.0.0.1:${port}`);
  let next = 0;
  let acknowledged = 0;
  let sent = 0;
  let stop = false;
  const lane = async () => {
    while (!stop) {
      const batch = pool[next++ % POOL];
      sent += batch.length;
      // Not `acknowledged += await ...`: that would add to the count read before the await.
      const n = await producer.send(batch);
      acknowledged += n;
    }
  };
  const lanes = Array.from({ length: LANES }, lane);
  await sleep(warmupSeconds * 1000);
  const s0 = await standInStats(port);
  const a0 = acknowledged;
  const sent0 = sent;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const inFlight = [];
  const sampler = setInterval(() => inFlight.push(producer.inFlight()), 100);
  await sleep(seconds * 1000);
  const t1 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const a1 = acknowledged;
  const sent1 = sent;
  const s1 = await standInStats(port);
  clearInterval(sampler);
  stop = true;
  await Promise.all(lanes);
  await producer.close();
  const elapsed = (t1 - t0) / 1000;
  const records = a1 - a0;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return {
    row,
    seconds: elapsed,
    recordsPerSecond: records / elapsed,
    cpuUsPerRecord: (cpuMs * 1000) / records,
    cpuShare: cpuMs / (elapsed * 1000),
    standInCpuUsPerRecord: ((s1.cpuMs - s0.cpuMs) * 1000) / records,
    standInCpuShare: (s1.cpuMs - s0.cpuMs) / (elapsed * 1000),
    recordsPerRequest: (s1.records - s0.records) / (s1.requests - s0.requests),
    refused: s1.refused - s0.refused,
    // Records handed over in the window and not acknowledged beyond what is still in flight.
    notAcknowledged: Math.max(0, sent1 - sent0 - records - LANES * BATCH),
    inFlightMedian: median(inFlight),
  };
}

function startStandIn() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'standin.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve({ port: JSON.parse(out.split('\n')[0]).port, child });
    });
    child.once('exit', (code) => reject(new Error(`stand-in exited (${code})`)));
  });
}

export async function sustained({ seconds = 10, warmupSeconds = 2, rounds = 1, rows = Object.keys(ROWS) } = {}) {
  const { port, child } = await startStandIn();
  const runs = Object.fromEntries(rows.map((r) => [r, []]));
  try {
    for (let round = 0; round < rounds; round++) {
      for (const row of rows) {
        const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', row, String(port), String(seconds), String(warmupSeconds)], {
          encoding: 'utf8',
          env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        });
        if (r.status !== 0) throw new Error(`sustained ${row} failed: ${r.stderr}`);
        runs[row].push(lastJson(r.stdout));
      }
    }
  } finally {
    child.kill('SIGTERM');
  }
  // Per row, the round with the median throughput.
  const results = {};
  for (const row of rows) {
    const sorted = [...runs[row]].sort((a, b) => a.recordsPerSecond - b.recordsPerSecond);
    results[row] = sorted[Math.floor(sorted.length / 2)];
  }
  return { seconds, warmupSeconds, rounds, pool: POOL * BATCH, results };
}

export function printSustained(f) {
  console.log(
    `Sustained over real sockets in Node: one producer process, ${LANES} calls of ${BATCH} in flight, HTTP keep-alive to a node:http stand-in on 127.0.0.1 in another process; ` +
      `${f.seconds} s measured after ${f.warmupSeconds} s of warm-up${f.rounds > 1 ? `, median of ${f.rounds} rounds` : ''}; readings from a pool of ${f.pool.toLocaleString('en')} made before the clock starts (generation not timed)`,
  );
  console.log('');
  const sdk = f.results.sdk;
  printTable(
    ['producer', 'acknowledged records/s', 'producer CPU µs per record', 'producer CPU (cores)', 'stand-in CPU µs per record', 'stand-in CPU (cores)', 'records per request', 'in flight (median)'],
    Object.entries(f.results).map(([row, r]) => [
      ROWS[row],
      Math.round(r.recordsPerSecond).toLocaleString('en'),
      r.cpuUsPerRecord.toFixed(2),
      r.cpuShare.toFixed(2),
      r.standInCpuUsPerRecord.toFixed(2),
      r.standInCpuShare.toFixed(2),
      r.recordsPerRequest.toFixed(0) + (r.refused ? ` (${r.refused} refused!)` : '') + (r.notAcknowledged ? ` (${r.notAcknowledged} records not acknowledged!)` : ''),
      String(r.inFlightMedian),
    ]),
  );
  console.log("(in flight: kinesis-edge's stats().inFlightRequests, sampled every 100 ms; the SDK's sends not yet resolved)");
  const edge = f.results.edge;
  if (edge) {
    console.log('');
    console.log(
      `kinesis-edge sustained: ${against(edge.recordsPerSecond, { atLeast: TARGET_RECORDS_PER_S, unit: ' records/s', digits: 0 })}` +
        (sdk ? `; AWS SDK ${Math.round(sdk.recordsPerSecond).toLocaleString('en')} records/s (target: ahead of it: ${edge.recordsPerSecond > sdk.recordsPerSecond ? 'met' : 'missed'})` : ''),
    );
  }
}

if (isMain(import.meta.url)) {
  if (process.argv[2] === '--child') {
    const [row, port, seconds, warmup] = process.argv.slice(3);
    console.log(JSON.stringify(await measureRow(row, Number(port), Number(seconds), Number(warmup))));
    process.exit(0);
  }
  const figures = await sustained({
    seconds: Number(process.env.BENCH_SUSTAINED_S ?? 10),
    warmupSeconds: Number(process.env.BENCH_SUSTAINED_WARMUP_S ?? 2),
    rounds: Number(process.env.BENCH_SUSTAINED_ROUNDS ?? 1),
    rows: process.env.BENCH_SUSTAINED_ROWS ? process.env.BENCH_SUSTAINED_ROWS.split(',') : undefined,
  });
  if (process.argv.includes('--json')) console.log(JSON.stringify(figures));
  else printSustained(figures);
}
