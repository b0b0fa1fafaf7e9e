// The workerd figures of `npm run bench`: the example ingest worker in real workerd, forwarding
// to kinesalite (both on 127.0.0.1). Cold start: from starting workerd to the answer to the first
// request of 100 readings. CPU: workerd's own process CPU time (user + system, from /proc) per
// request of 100 readings, delivery to Kinesis included, averaged over many requests; the free
// plan's limit is 10 ms per request.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startKinesalite, createStream, readStream, userRecords, TEST_CREDENTIALS } from '../tests/js/support.mjs';
import { startWorker } from '../tests/js/workerd.mjs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux
const cpuMs = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
};

const device = { id: 'bench-1', secret: 'bench-hmac-key' };
const body = (n, offset) =>
  JSON.stringify(Array.from({ length: n }, (_, i) => ({ temperature: 20 + ((offset + i) % 50) / 10, humidity: 45, battery: 80, ts: 1_764_000_000_000 + offset + i })));
const post = (url, text) =>
  fetch(`${url}/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-device-id': device.id, 'x-signature': 'sha256=' + createHmac('sha256', device.secret).update(text).digest('hex') },
    body: text,
  });

export async function workerFigures({ requests = 300, readings = 100, aggregation = 'on' } = {}) {
  const k = await startKinesalite();
  await createStream(k.client, 'bench', 4);
  const worker = await startWorker({
    AWS_REGION: 'us-east-1',
    STREAM_NAME: 'bench',
    KINESIS_ENDPOINT: k.endpoint,
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    DEVICES: JSON.stringify({ [device.id]: { secret: device.secret, schema: 'thermometer' } }),
    AGGREGATION: aggregation,
  });
  try {
    const first = await post(worker.url, body(readings, 0));
    if (first.status !== 202) throw new Error(`first request: ${first.status}`);
    const coldMs = performance.now() - worker.startedAt;
    // Warm up, then measure.
    for (let i = 1; i <= 20; i++) await post(worker.url, body(readings, i * readings));
    const before = cpuMs(worker.pid);
    const t0 = performance.now();
    for (let i = 0; i < requests; i++) {
      const r = await post(worker.url, body(readings, (21 + i) * readings));
      if (r.status !== 202) throw new Error(`request ${i}: ${r.status}`);
    }
    // Let the last deliveries (under waitUntil) finish before reading the CPU counter.
    const total = (21 + requests) * readings;
    for (let i = 0; i < 200; i++) {
      const stored = (await readStream(k.client, 'bench')).reduce((n, r) => n + userRecords(r.Data).length, 0);
      if (stored >= total) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const cpu = cpuMs(worker.pid) - before;
    const wall = (performance.now() - t0) / requests;
    // Baseline: the same requests with a wrong signature are refused (401) before any parsing
    // or forwarding: what workerd and the HMAC check cost without kinesis-edge.
    const refusedBefore = cpuMs(worker.pid);
    for (let i = 0; i < requests; i++) {
      const text = body(readings, i);
      const r = await fetch(`${worker.url}/ingest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-device-id': device.id, 'x-signature': 'sha256=' + '0'.repeat(64) },
        body: text,
      });
      if (r.status !== 401) throw new Error(`refused request ${i}: ${r.status}`);
    }
    const refusedCpu = (cpuMs(worker.pid) - refusedBefore) / requests;
    return { coldMs, cpuMsPerRequest: cpu / requests, refusedCpuMsPerRequest: refusedCpu, wallMsPerRequest: wall, requests, readings, aggregation };
  } finally {
    await worker.stop();
    await k.close();
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  console.log(JSON.stringify(await workerFigures()));
}
