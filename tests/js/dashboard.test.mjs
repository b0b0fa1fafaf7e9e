// The demo command and its dashboard, end to end in headless Chromium: the demo starts kinesalite
// and serves www/; the page's simulated devices stream through the browser build of the package;
// an independent reader (the AWS SDK) then finds every reading the page saw acknowledged, and on
// each shard what the page's shard view counted there. The stream's CloudWatch metrics show as
// unavailable against kinesalite, and as moto holds them when the page is pointed at moto. A
// screenshot of the dashboard is kept as a test artifact (target/test-artifacts/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { signRequest } from 'kinesis-edge';
import { readStream, userRecords, startMoto, TEST_CREDENTIALS } from './support.mjs';
import { freePort } from './workerd.mjs';
import { launchChromium } from './chromium.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const artifacts = join(root, 'target/test-artifacts');

const PAGE_KEY = /^(web|serial)-/;

/** Start `node examples/demo.mjs` and wait for the dashboard's URL. */
async function startDemo(port, uiPort) {
  const child = spawn(process.execPath, ['examples/demo.mjs', '--devices', '3', '--rate', '2', '--port', String(port), '--ui-port', String(uiPort)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  for (let i = 0; i < 300 && !/dashboard: (\S+)/.test(out); i++) {
    if (child.exitCode !== null) throw new Error(`demo exited: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = /dashboard: (\S+)/.exec(out)?.[1];
  if (!url) throw new Error(`no dashboard URL: ${out}`);
  return { url, child, exited, output: () => out };
}

/** The shard view's rows: what each says it counted, its hash key range, and its cells' text. */
const shardRows = (page) =>
  page.$$eval('#shard-rows tr', (rows) =>
    rows.map((r) => ({
      shardId: r.dataset.shard,
      readings: Number(r.dataset.readings),
      kinesisRecords: Number(r.dataset.kinesisRecords),
      bytes: Number(r.dataset.bytes),
      start: r.dataset.start,
      end: r.dataset.end,
      hot: r.classList.contains('hot'),
      cells: [...r.cells].map((c) => c.textContent),
    })),
  );

/** Per shard, what the independent reader finds of the page's readings: the same fields. */
function perShard(records) {
  const out = new Map();
  for (const r of records) {
    const users = userRecords(r.Data, r.PartitionKey).filter((u) => PAGE_KEY.test(u.partitionKey));
    if (!users.length) continue;
    const s = out.get(r.ShardId) ?? { readings: 0, kinesisRecords: 0, bytes: 0 };
    s.readings += users.length;
    s.kinesisRecords += 1;
    s.bytes += users.reduce((n, u) => n + u.data.length + Buffer.byteLength(u.partitionKey), 0);
    out.set(r.ShardId, s);
  }
  return out;
}

test('the demo serves a dashboard whose devices stream into the stream, and finishes with every reading checked', async () => {
  const [port, uiPort] = [await freePort(), await freePort()];
  const demo = await startDemo(port, uiPort);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // Web Serial with a stand-in port (there is no device here): NDJSON split across chunks, a
    // line that is not JSON, and a port that stays open until the dashboard stops.
    await page.addInitScript(() => {
      const chunks = ['{"deviceId":"serial-1","temperature":21.5}\n{"deviceId":"ser', 'ial-2","temperature":22}\nnot json\n', '{"deviceId":"serial-1","temperature":21.6}\n'];
      const readable = new ReadableStream({
        start(controller) {
          for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
        },
      });
      const port = { open: async () => {}, readable };
      Object.defineProperty(navigator, 'serial', { configurable: true, value: { requestPort: async () => port } });
    });
    await page.goto(demo.url);
    await page.fill('input[name=devices]', '12');
    await page.fill('input[name=rate]', '4');
    await page.click('#start');
    await page.waitForFunction(() => document.querySelectorAll('#latest tr').length >= 5, null, { timeout: 20_000 });
    await page.waitForFunction(() => Number(document.getElementById('k-acked').textContent.replace('k', '000')) >= 100, null, { timeout: 20_000 });
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'dashboard.png') });

    // Every chart has a time axis and says the values under the cursor, with their unit.
    for (const [chart, unit] of [['#c-rate', /\/s/], ['#c-latency', / ms/], ['#c-shard-records', /\/s/], ['#c-shard-bytes', /(B|KiB)\/s/]]) {
      const box = await page.locator(`${chart} .u-over`).boundingBox();
      await page.mouse.move(box.x + box.width - 2, box.y + box.height / 2);
      const legend = await page.locator(`${chart} .u-legend`).textContent();
      assert.match(legend, /time\s*\d{1,2}:\d\d:\d\d/, `${chart}: ${legend}`);
      assert.match(legend, unit, `${chart}: ${legend}`);
    }
    await page.mouse.move(0, 0);

    // At phone width nothing overflows sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone`);
    await page.screenshot({ path: join(artifacts, 'dashboard-phone.png'), fullPage: true });

    await page.click('#serial');
    await page.waitForFunction(() => document.getElementById('errors').textContent.includes('serial: not a JSON line: not json'));

    await page.click('#stop');
    await page.waitForFunction(() => document.getElementById('status').textContent === 'stopped', null, { timeout: 30_000 });
    const stats = await page.evaluate(() => window.__dashboard.producer.stats());
    assert.deepEqual(errors, []);
    assert.equal(stats.recordsFailed, 0);
    assert.equal(stats.recordsAcknowledged, stats.recordsAccepted);
    assert.equal(stats.aggregation, 'by-shard');

    const client = new KinesisClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, credentials: TEST_CREDENTIALS, requestHandler: new NodeHttpHandler() });
    const stored = await readStream(client, 'device-readings');
    const { Shards } = await client.send(new ListShardsCommand({ StreamName: 'device-readings' }));
    client.destroy();
    const fromPage = stored.flatMap((r) => userRecords(r.Data, r.PartitionKey)).filter((u) => PAGE_KEY.test(u.partitionKey));

    // The shard view: a row per shard of the map, in key order, whose counts are what the
    // reader finds on that shard (readings, the Kinesis records carrying them, data + key bytes).
    const rows = await shardRows(page);
    assert.deepEqual(
      rows.map((r) => [r.shardId, r.start, r.end]),
      Shards.map((s) => [s.ShardId, s.HashKeyRange.StartingHashKey, s.HashKeyRange.EndingHashKey]),
    );
    assert.deepEqual(rows.map((r) => r.cells[1]), ['0% – 25%', '25% – 50%', '50% – 75%', '75% – 100%']);
    const found = perShard(stored);
    for (const row of rows) {
      const expected = found.get(row.shardId) ?? { readings: 0, kinesisRecords: 0, bytes: 0 };
      assert.deepEqual({ readings: row.readings, kinesisRecords: row.kinesisRecords, bytes: row.bytes }, expected, row.shardId);
    }
    const sum = (key) => rows.reduce((n, r) => n + r[key], 0);
    assert.equal(sum('readings'), stats.recordsAcknowledged);
    assert.equal(sum('kinesisRecords'), stats.kinesisRecordsAcknowledged, 'aggregates counted once');
    assert.ok(sum('readings') > sum('kinesisRecords'), 'readings were aggregated');
    assert.ok(rows.every((r) => !r.hot), 'a few devices make no shard hot');

    // kinesalite is no CloudWatch: its metrics are unavailable, said beside them, not an error.
    const cloudWatch = await page.evaluate(() => ({ ...window.__dashboard.cloudWatch, note: document.getElementById('cw-note').textContent, errors: document.getElementById('errors').textContent }));
    assert.equal(cloudWatch.state, 'unavailable');
    assert.match(cloudWatch.note, /^unavailable at 127\.0\.0\.1:\d+ \(/);
    assert.doesNotMatch(cloudWatch.errors, /CloudWatch|monitoring|GetMetricData/);
    assert.equal(fromPage.length, stats.recordsAcknowledged, 'every reading the page saw acknowledged is in the stream, once');
    for (const u of fromPage) assert.equal(JSON.parse(u.data.toString('utf8')).deviceId, u.partitionKey);
    const serial = fromPage.filter((u) => u.partitionKey.startsWith('serial-')).map((u) => JSON.parse(u.data.toString('utf8')).temperature);
    assert.deepEqual(serial.sort(), [21.5, 21.6, 22], 'the serial device readings, keyed by their deviceId');
  } finally {
    await browser.close();
    demo.child.kill('SIGINT');
  }
  assert.equal(await demo.exited, 0, demo.output());
  assert.match(demo.output(), /read back \d+ records/);
});

/** PutMetricData into AWS/Kinesis at moto, signed by the package: `[{ name, value, at, stream? }]`. */
async function putStreamMetrics(url, points) {
  const body = new URLSearchParams({ Action: 'PutMetricData', Version: '2010-08-01', Namespace: 'AWS/Kinesis' });
  points.forEach(({ name, value, at, stream = 'device-readings' }, i) => {
    const m = `MetricData.member.${i + 1}.`;
    body.set(`${m}MetricName`, name);
    body.set(`${m}Value`, String(value));
    body.set(`${m}Timestamp`, new Date(at).toISOString());
    body.set(`${m}Dimensions.member.1.Name`, 'StreamName');
    body.set(`${m}Dimensions.member.1.Value`, stream);
  });
  const headers = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
  const signed = await signRequest({ method: 'POST', url, headers, body: body.toString(), region: 'us-east-1', service: 'monitoring', credentials: TEST_CREDENTIALS });
  const res = await fetch(url, { method: 'POST', headers: { ...headers, ...signed }, body: body.toString() });
  assert.equal(res.status, 200, await res.text());
}

/** The shard whose hash key range holds a partition key's MD5. */
function shardOf(key, rows) {
  const hash = BigInt(`0x${createHash('md5').update(key).digest('hex')}`);
  return rows.find((r) => BigInt(r.start) <= hash && hash <= BigInt(r.end)).shardId;
}

test('the dashboard marks a hot shard and shows the stream metrics CloudWatch (moto) holds', async () => {
  const moto = await startMoto();
  const [port, uiPort] = [await freePort(), await freePort()];
  const demo = await startDemo(port, uiPort);
  const browser = await launchChromium();
  try {
    // Five minutes of a stream's metrics, minute by minute as Kinesis reports them, and a
    // point of another stream that the page must not show.
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const at = (minutesAgo, seconds) => minute - minutesAgo * 60_000 + seconds * 1000;
    await putStreamMetrics(moto.url, [
      { name: 'IncomingRecords', value: 100, at: at(5, 10) },
      { name: 'IncomingRecords', value: 20, at: at(5, 40) },
      { name: 'IncomingRecords', value: 240, at: at(3, 10) },
      { name: 'IncomingRecords', value: 360, at: at(1, 10) },
      { name: 'IncomingRecords', value: 999, at: at(1, 10), stream: 'other-stream' },
      { name: 'IncomingBytes', value: 48_000, at: at(3, 10) },
      { name: 'WriteProvisionedThroughputExceeded', value: 2, at: at(3, 10) },
      { name: 'PutRecords.ThrottledRecords', value: 7, at: at(3, 10) },
      { name: 'GetRecords.IteratorAgeMilliseconds', value: 50, at: at(5, 10) },
      { name: 'GetRecords.IteratorAgeMilliseconds', value: 900, at: at(5, 30) },
    ]);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(demo.url);
    await page.fill('input[name=cloudWatchEndpoint]', moto.url);
    // One device far above a shard's 1,000 records/s, not aggregated (kinesalite does not throttle).
    await page.fill('input[name=devices]', '2');
    await page.fill('input[name=hot]', '1500');
    await page.uncheck('input[name=aggregation]');
    await page.click('#start');

    await page.waitForFunction(() => window.__dashboard.cloudWatch.state !== 'not read', null, { timeout: 20_000 });
    const cloudWatch = await page.evaluate(() => ({ ...window.__dashboard.cloudWatch, note: document.getElementById('cw-note').textContent }));
    assert.equal(cloudWatch.state, 'available', cloudWatch.reason);
    const { times, ...values } = cloudWatch.values;
    const byMinute = (id) => Object.fromEntries(times.map((t, i) => [(minute - t) / 60_000, values[id][i]]).filter(([, v]) => v !== null));
    assert.deepEqual(byMinute('incomingRecords'), { 5: 120, 3: 240, 1: 360 }, 'sums per minute, of this stream only');
    assert.deepEqual(byMinute('incomingBytes'), { 3: 48_000 });
    assert.deepEqual(byMinute('writeExceeded'), { 3: 2 });
    assert.deepEqual(byMinute('throttledRecords'), { 3: 7 });
    assert.deepEqual(byMinute('iteratorAge'), { 5: 900 }, 'the maximum');
    assert.match(cloudWatch.note, /last hour/);
    // Hovering the stream writes chart gives that minute's values.
    const box = await page.locator('#c-cw-records .u-over').boundingBox();
    await page.mouse.move(box.x + box.width - 1, box.y + box.height / 2);
    assert.match(await page.locator('#c-cw-records .u-legend').textContent(), /IncomingRecords\s*360/);

    const hotShard = shardOf('web-hot-000', await shardRows(page));
    await page.waitForFunction((id) => document.querySelector(`#shard-rows tr[data-shard="${id}"]`)?.classList.contains('hot'), hotShard, { timeout: 30_000 });
    const rows = await shardRows(page);
    assert.deepEqual(rows.filter((r) => r.hot).map((r) => r.shardId), [hotShard], 'only the hot device\'s shard');
    await page.screenshot({ path: join(artifacts, 'dashboard-hot-shard.png'), fullPage: true });
    await page.click('#stop');
    await page.waitForFunction(() => document.getElementById('status').textContent === 'stopped', null, { timeout: 30_000 });
    assert.deepEqual(errors, []);
    assert.equal(await page.locator('#errors li').count(), 0);
  } finally {
    await browser.close();
    demo.child.kill('SIGINT');
    await moto.stop();
  }
  assert.equal(await demo.exited, 0, demo.output());
});

test("the dashboard finds CloudWatch beside AWS's Kinesis endpoints, and on an emulator's own port", async () => {
  const { cloudWatchEndpoint } = await import('../../www/cloudwatch.js');
  assert.equal(cloudWatchEndpoint('https://kinesis.eu-west-1.amazonaws.com', 'eu-west-1'), 'https://monitoring.eu-west-1.amazonaws.com/');
  assert.equal(cloudWatchEndpoint('https://kinesis-fips.us-east-1.amazonaws.com/', 'us-east-1'), 'https://monitoring-fips.us-east-1.amazonaws.com/');
  assert.equal(cloudWatchEndpoint('https://kinesis.cn-north-1.amazonaws.com.cn', 'cn-north-1'), 'https://monitoring.cn-north-1.amazonaws.com.cn/');
  assert.equal(cloudWatchEndpoint('http://127.0.0.1:4566/kinesis', 'us-east-1'), 'http://127.0.0.1:4566/');
  assert.equal(cloudWatchEndpoint('https://kinesis.eu-west-1.amazonaws.com', 'eu-west-1', 'https://vpce-1.monitoring.example/'), 'https://vpce-1.monitoring.example/');
});
