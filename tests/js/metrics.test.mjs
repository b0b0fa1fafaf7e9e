// CloudWatch metrics against moto's CloudWatch (PyPI, started here on 127.0.0.1): the KPL's
// metrics published with PutMetricData as statistic sets, read back with GetMetricStatistics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { KinesisProducer, signRequest } from 'kinesis-edge/metrics';
import { KinesisProducer as DefaultEntryProducer } from 'kinesis-edge';
import { createStream, readStream, motoForTests, kinesaliteForTests, TEST_CREDENTIALS } from './support.mjs';
import { startFaultProxy } from './fault-proxy.mjs';
import { Miniflare, Log, LogLevel } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { bundle } from '../../examples/ingest-worker/dev.mjs';
import { launchChromium } from './chromium.mjs';
import { serveProject } from './static-server.mjs';

const moto = motoForTests();
const k = kinesaliteForTests();

/** A CloudWatch query-protocol call to moto, signed by the package (moto routes by the scope). */
async function cloudwatch(params) {
  const body = new URLSearchParams({ Version: '2010-08-01', ...params }).toString();
  const headers = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
  const signed = await signRequest({ method: 'POST', url: moto.url, headers, body, region: 'us-east-1', service: 'monitoring', credentials: TEST_CREDENTIALS });
  const res = await fetch(moto.url, { method: 'POST', headers: { ...headers, ...signed }, body });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return text;
}

/** GetMetricStatistics over the last and next 10 minutes: the data points' SampleCount and Sum, added up. */
async function statistics(namespace, metric, dimensions) {
  const params = {
    Action: 'GetMetricStatistics',
    Namespace: namespace,
    MetricName: metric,
    StartTime: new Date(Date.now() - 600_000).toISOString(),
    EndTime: new Date(Date.now() + 600_000).toISOString(),
    Period: '60',
    'Statistics.member.1': 'Sum',
    'Statistics.member.2': 'SampleCount',
  };
  Object.entries(dimensions).forEach(([name, value], i) => {
    params[`Dimensions.member.${i + 1}.Name`] = name;
    params[`Dimensions.member.${i + 1}.Value`] = value;
  });
  const xml = await cloudwatch(params);
  const total = (tag) => [...xml.matchAll(new RegExp(`<${tag}>([^<]+)</${tag}>`, 'g'))].reduce((n, m) => n + Number(m[1]), 0);
  return { sum: total('Sum'), samples: total('SampleCount'), points: xml.split('<member>').length - 1 };
}

let streams = 0;
async function stream(shards = 2) {
  const name = `metrics${++streams}`;
  await createStream(k.client, name, shards);
  return name;
}

/** A producer of `streamName` through `endpoint` (kinesalite by default) with these metrics. */
const producerFor = (streamName, metrics, more = {}) =>
  new KinesisProducer({ region: 'us-east-1', streamName, endpoint: k.endpoint, credentials: TEST_CREDENTIALS, streamSettings: {}, metrics, ...more });

const readings = (n) => Array.from({ length: n }, (_, i) => ({ data: JSON.stringify({ device: i % 7, t: i }), partitionKey: `device-${i % 7}` }));

test('after N readings are acknowledged and the producer closed, UserRecordsPut sums to N in the stream dimension', async () => {
  const streamName = await stream();
  const namespace = 'KinesisEdgeTest1';
  const producer = producerFor(streamName, { level: 'detailed', granularity: 'stream', namespace, endpoint: moto.url, dimensions: { Fleet: 'edge-test' } });
  const N = 137;
  await producer.putMany(readings(N));
  assert.equal(producer.stats().metricsUploads, 0, 'the upload chunk is loaded; nothing before the interval ends');
  await producer.close();
  const s = producer.stats();
  assert.equal(s.metricsUploads, 1, 'close() published what was pending, in one call');
  assert.equal(s.metricsDropped, 0);

  const put = await statistics(namespace, 'UserRecordsPut', { StreamName: streamName });
  assert.deepEqual([put.sum, put.samples], [N, N], 'one sample per record, each counting 1');
  assert.equal((await statistics(namespace, 'UserRecordsReceived', { StreamName: streamName })).sum, N);
  assert.equal((await statistics(namespace, 'UserRecordsDataPut', { StreamName: streamName })).sum, s.bytesAcknowledged);
  const perRequest = await statistics(namespace, 'UserRecordsPerPutRecordsRequest', { StreamName: streamName });
  assert.equal(perRequest.sum, N);
  assert.equal(perRequest.samples, s.requests);
  assert.equal((await statistics(namespace, 'AllErrors', { StreamName: streamName })).sum, 0);
  const global = await statistics(namespace, 'UserRecordsPut', { Fleet: 'edge-test' });
  assert.equal(global.sum, 2 * N, 'the extra dimension on every metric: global and stream sets');
  assert.equal((await statistics(namespace, 'UserRecordsPut', { StreamName: streamName, ShardId: 'shardId-000000000000' })).points, 0, 'no shard sets at stream granularity');
  // Data itself is unaffected: every reading is in the stream.
  assert.equal((await readStream(k.client, streamName)).length, N);
});

test('ErrorsByCode counts each failed attempt under its error code (fault proxy), at shard granularity', async () => {
  const streamName = await stream(1);
  const namespace = 'KinesisEdgeTest2';
  const proxy = await startFaultProxy(k.endpoint, { failEntries: 0.3 }, 11);
  try {
    const metrics = { level: 'summary', granularity: 'shard', namespace, endpoint: moto.url };
    const producer = producerFor(streamName, metrics, { endpoint: proxy.endpoint, recordTtlMs: Infinity });
    const N = 200;
    await producer.putMany(readings(N));
    await producer.close();
    const byCode = proxy.counts.failedByCode;
    assert.ok(Object.keys(byCode).length === 2, `both codes injected: ${JSON.stringify(byCode)}`);
    for (const [code, count] of Object.entries(byCode)) {
      const errors = await statistics(namespace, 'ErrorsByCode', { ErrorCode: code });
      // Global and stream sets both carry ErrorCode: each failure is in two of them.
      assert.equal(errors.sum, 2 * count, code);
    }
    const all = await statistics(namespace, 'AllErrors', { StreamName: streamName });
    assert.equal(all.sum, proxy.counts.failedEntries);
    const onShard = await statistics(namespace, 'UserRecordsPut', { StreamName: streamName, ShardId: 'shardId-000000000000' });
    assert.equal(onShard.sum, N, 'every record stored, counted on its shard');
    const kinesisPut = await statistics(namespace, 'KinesisRecordsPut', { StreamName: streamName, ShardId: 'shardId-000000000000' });
    assert.equal(kinesisPut.sum, N);
    const attempts = await statistics(namespace, 'KinesisRecordsPut', { StreamName: streamName });
    assert.equal(attempts.samples - attempts.sum, proxy.counts.failedEntries, 'a failed Kinesis record counts 0');
    assert.equal((await statistics(namespace, 'RequestTime', { StreamName: streamName })).points, 0, 'RequestTime is detailed only');
  } finally {
    await proxy.close();
  }
});

test("level 'none' (the default) publishes nothing", async () => {
  const streamName = await stream(1);
  const calls = [];
  const watch = createServer((req, res) => {
    calls.push(req.url);
    res.end();
  });
  await new Promise((r) => watch.listen(0, '127.0.0.1', r));
  try {
    for (const metrics of [undefined, { level: 'none', endpoint: `http://127.0.0.1:${watch.address().port}/` }]) {
      const producer = producerFor(streamName, metrics);
      await producer.putMany(readings(10));
      await producer.close();
      assert.equal(producer.stats().metricsUploads, undefined, 'no metrics fields in stats()');
    }
    assert.deepEqual(calls, []);
    assert.equal((await statistics('KinesisProducerLibrary', 'UserRecordsPut', { StreamName: streamName })).points, 0);
  } finally {
    await new Promise((r) => watch.close(r));
  }
});

test('a failing metrics endpoint: retried once at the next interval, then dropped and counted; data unaffected', async () => {
  const streamName = await stream(1);
  const calls = [];
  const failing = createServer((req, res) => {
    calls.push(Date.now());
    req.resume();
    res.writeHead(500, { 'content-type': 'text/xml' }).end('<ErrorResponse><Error><Code>InternalServiceError</Code></Error></ErrorResponse>');
  });
  await new Promise((r) => failing.listen(0, '127.0.0.1', r));
  try {
    const producer = producerFor(streamName, { level: 'summary', intervalMs: 1_000, endpoint: `http://127.0.0.1:${failing.address().port}/` });
    const start = Date.now();
    const results = await producer.putMany(readings(20));
    assert.equal(results.length, 20);
    // First interval: one call, refused; the next interval: its retry, refused again, dropped.
    while (producer.stats().metricsFailedUploads < 2) await new Promise((r) => setTimeout(r, 50));
    const s = producer.stats();
    assert.equal(calls.length, 2);
    assert.ok(calls[0] - start >= 900 && calls[1] - calls[0] >= 900, 'at most once per intervalMs');
    assert.ok(s.metricsDropped > 0, 'the retried call was dropped and counted');
    assert.equal(s.metricsError, 'InternalServiceError (HTTP 500)');
    assert.equal(s.retries, 0, 'the data path shares none of it');
    assert.equal(s.recordsAcknowledged, 20);
    await producer.close();
    assert.equal((await readStream(k.client, streamName)).length, 20);
  } finally {
    await new Promise((r) => failing.close(r));
  }
});

/** tests/js/workers/metrics-worker bundled as `wrangler deploy` would upload it (so through the
 * package's `workerd` condition of `kinesis-edge/metrics`), served by Miniflare's workerd. */
async function startMetricsWorker(vars) {
  const config = new URL('./workers/metrics-worker/wrangler.toml', import.meta.url).pathname;
  const built = await bundle(config);
  let log = '';
  let mf;
  try {
    const { workerOptions } = unstable_getMiniflareWorkerOptions(config);
    mf = new Miniflare({
      host: '127.0.0.1',
      port: 0,
      cf: false,
      log: new Log(LogLevel.WARN),
      handleRuntimeStdio: (stdout, stderr) => [stdout, stderr].forEach((s) => s.on('data', (d) => (log += d))),
      ...workerOptions,
      scriptPath: built.script,
      modules: true,
      modulesRoot: built.dir,
      bindings: vars,
    });
    const url = (await mf.ready).href.replace(/\/$/, '');
    return { url, log: () => log, stop: async () => (await mf.dispose(), built.remove()) };
  } catch (e) {
    await mf?.dispose().catch(() => {});
    built.remove();
    throw e;
  }
}

test('in workerd, the isolate gathers across requests and uploads under the waitUntil of the request that finds the interval over', async () => {
  const streamName = await stream(1);
  const namespace = 'KinesisEdgeTest5';
  let worker;
  try {
    worker = await startMetricsWorker({ STREAM_NAME: streamName, KINESIS_ENDPOINT: k.endpoint, METRICS_ENDPOINT: moto.url, NAMESPACE: namespace, INTERVAL_MS: '1500' });
    const put = async (n) => {
      const res = await fetch(`${worker.url}/put?n=${n}`);
      assert.equal(res.status, 200, worker.log());
      return res.json();
    };
    const first = await put(5);
    assert.equal(first.recordsAcknowledged, 5);
    await put(7);
    const sum = async () => (await statistics(namespace, 'UserRecordsPut', { StreamName: streamName })).sum;
    assert.equal(await sum(), 0, 'closing a producer in a worker does not publish');
    await new Promise((r) => setTimeout(r, 1_600));
    // The interval is over: this request's commit publishes what the first two gathered.
    await put(3);
    let published = 0;
    for (let i = 0; i < 100 && published === 0; i++) {
      published = await sum();
      if (!published) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(published, 12, 'both earlier requests, one accumulator; the third waits for the next interval');
    await new Promise((r) => setTimeout(r, 1_600));
    const last = await put(1);
    assert.ok(last.metricsUploads >= 1 && last.metricsFailedUploads === 0, JSON.stringify(last));
    for (let i = 0; i < 100 && published === 12; i++) {
      published = await sum();
      if (published === 12) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(published, 15);
    // A producer made at module scope (no timers allowed there) works once a request uses it.
    const res = await fetch(`${worker.url}/module-scope`);
    assert.equal(res.status, 200, worker.log());
    assert.equal((await res.json()).recordsAcknowledged, 1);
  } finally {
    await worker?.stop();
  }
});

test('a producer whose credentials are still coming leaves the upload until they came, without a loop (Worker context)', { timeout: 30_000 }, async () => {
  const streamName = await stream(1);
  const namespace = 'KinesisEdgeTest6';
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  let waits = 0;
  const pending = [];
  const ctx = { waitUntil: (p) => (waits++, pending.push(p)) };
  const credentials = async () => (await sleep(100), { ...TEST_CREDENTIALS, expiration: new Date(Date.now() + 3_600_000) });
  const metrics = { level: 'summary', granularity: 'stream', namespace, intervalMs: 1_000, endpoint: moto.url };
  // A producer per request, as in a Worker, all with a credentials function: one accumulator.
  const request = async (n) => {
    const producer = producerFor(streamName, metrics, { credentials }).useContext(ctx);
    await producer.putMany(readings(n));
    await producer.close();
    return producer;
  };
  await request(4);
  await sleep(1_100);
  // The interval is over; this producer's first put finds it so before its credentials came.
  const late = producerFor(streamName, metrics, { credentials }).useContext(ctx);
  const put = late.putMany(readings(3));
  await sleep(300);
  assert.ok(waits < 5, `${waits} uploads started while the credentials were coming`);
  await put;
  await late.close();
  await Promise.all(pending);
  assert.equal((await statistics(namespace, 'UserRecordsPut', { StreamName: streamName })).sum, 7, 'published by the late producer once it could sign');
  assert.equal(late.stats().metricsUploads, 1);
});

test('an idle producer whose credentials expired asks its credentials function for the metrics', { timeout: 30_000 }, async () => {
  const streamName = await stream(1);
  let asked = 0;
  // Short-lived credentials: they expire before the interval ends, while the producer is idle.
  const credentials = async () => (asked++, { ...TEST_CREDENTIALS, expiration: new Date(Date.now() + 1_200) });
  const producer = producerFor(streamName, { level: 'summary', intervalMs: 2_000, namespace: 'KinesisEdgeTest7', endpoint: moto.url }, { credentials });
  await producer.putMany(readings(5));
  assert.equal(asked, 1);
  let uploads = 0;
  for (let i = 0; i < 160 && uploads === 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    uploads = producer.stats().metricsUploads;
  }
  assert.equal(uploads, 1, 'published with fresh credentials');
  assert.ok(asked >= 2, `the function was asked again (${asked})`);
  await producer.close();
});

test('close() keeps to its deadline while a metrics call hangs', { timeout: 30_000 }, async () => {
  const streamName = await stream(1);
  // An endpoint that takes the call and never answers.
  const held = [];
  const silent = createServer((req) => held.push(req));
  await new Promise((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const producer = producerFor(streamName, { level: 'summary', endpoint: `http://127.0.0.1:${silent.address().port}/` });
    await producer.putMany(readings(5));
    const started = Date.now();
    await producer.close({ timeoutMs: 500 });
    const took = Date.now() - started;
    // The request timeout is 10 s: without the deadline close() would wait for it.
    assert.ok(took < 5_000, `close() took ${took} ms with a 500 ms deadline`);
    assert.equal(held.length, 1, 'the last call was made');
    assert.equal(producer.stats().recordsAcknowledged, 5);
  } finally {
    silent.closeAllConnections();
    await new Promise((r) => silent.close(r));
  }
});

test('the default entry, which carries no metrics code, refuses metrics and points at kinesis-edge/metrics; off passes', () => {
  const options = { region: 'us-east-1', streamName: 's', endpoint: k.endpoint, credentials: TEST_CREDENTIALS, streamSettings: {} };
  for (const metrics of [{ level: 'summary' }, { level: 'detailed', endpoint: moto.url }, true]) {
    assert.throws(
      () => new DefaultEntryProducer({ ...options, metrics }),
      (e) => e.code === 'InvalidOption' && e.field === 'metrics' && e.message.includes('kinesis-edge/metrics'),
    );
  }
  for (const metrics of [undefined, {}, { level: 'none', namespace: 'X' }]) new DefaultEntryProducer({ ...options, metrics }).close();
});

/** A loopback CORS proxy to moto, for pages (moto's server answers no preflight). */
async function corsProxyTo(target) {
  const cors = { 'access-control-allow-origin': '*', 'access-control-allow-headers': '*', 'access-control-allow-methods': 'POST' };
  const server = createServer(async (req, res) => {
    if (req.method === 'OPTIONS') return res.writeHead(204, cors).end();
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const answer = await fetch(target, { method: 'POST', headers: { 'content-type': req.headers['content-type'], authorization: req.headers.authorization, 'x-amz-date': req.headers['x-amz-date'] }, body: Buffer.concat(chunks) });
    res.writeHead(answer.status, { ...cors, 'content-type': answer.headers.get('content-type') ?? 'text/xml' }).end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) };
}

test('in Chromium: a page importing both entries (metrics first) loads the wasm once and publishes; the other order fails at the import; the default entry alone refuses metrics', async () => {
  const streamName = await stream(1);
  const namespace = 'KinesisEdgeBrowser';
  const server = await serveProject();
  const proxy = await corsProxyTo(moto.url);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}/tests/js/pages/metrics.html?entries=metrics-browser,browser`);
    await page.waitForFunction(() => window.__ready);
    const result = await page.evaluate(
      async ({ endpoint, streamName, namespace, metricsUrl }) => {
        const [withMetrics, plain] = window.__entries;
        const options = { region: 'us-east-1', streamName, endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' }, streamSettings: {} };
        // The producer from the default entry's module: one instance, the metrics build's.
        const producer = new plain.KinesisProducer({ ...options, metrics: { level: 'summary', granularity: 'stream', namespace, endpoint: metricsUrl } });
        await producer.putMany(Array.from({ length: 25 }, (_, i) => ({ data: `r${i}`, partitionKey: `k${i % 3}` })));
        await producer.close();
        return { sameClass: withMetrics.KinesisProducer === plain.KinesisProducer, stats: producer.stats() };
      },
      { endpoint: k.endpoint, streamName, namespace, metricsUrl: proxy.url },
    );
    assert.deepEqual(errors, []);
    assert.ok(result.sameClass, 'both entries export the same classes');
    assert.equal(result.stats.recordsAcknowledged, 25);
    assert.equal(result.stats.metricsUploads, 1, JSON.stringify(result.stats));
    assert.equal((await statistics(namespace, 'UserRecordsPut', { StreamName: streamName })).sum, 25);

    const plainPage = await browser.newPage();
    await plainPage.goto(`${server.url}/tests/js/pages/metrics.html?entries=browser`);
    await plainPage.waitForFunction(() => window.__ready);
    const refused = await plainPage.evaluate(({ endpoint }) => {
      try {
        new window.__entries[0].KinesisProducer({ region: 'us-east-1', streamName: 's', endpoint, credentials: { accessKeyId: 'A', secretAccessKey: 'S' }, metrics: { level: 'summary' } });
        return null;
      } catch (e) {
        return { code: e.code, field: e.field };
      }
    }, { endpoint: k.endpoint });
    assert.deepEqual(refused, { code: 'InvalidOption', field: 'metrics' });

    // The other order: the default build serves the page, and the metrics entry says so.
    const shadowed = await browser.newPage();
    await shadowed.goto(`${server.url}/tests/js/pages/metrics.html?entries=browser,metrics-browser`);
    await shadowed.waitForFunction(() => window.__ready);
    assert.match(await shadowed.evaluate(() => window.__error), /kinesis-edge\/metrics` was loaded after `kinesis-edge`/);
  } finally {
    await browser.close();
    await proxy.close();
    await server.close();
  }
});
