// The demo command and its dashboard, end to end in headless Chromium: the demo starts kinesalite
// and serves www/; the page's simulated devices stream through the browser build of the package;
// an independent reader (the AWS SDK) then finds every reading the page saw acknowledged. A
// screenshot of the dashboard is kept as a test artifact (target/test-artifacts/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { readStream, userRecords, TEST_CREDENTIALS } from './support.mjs';
import { freePort } from './workerd.mjs';
import { launchChromium } from './chromium.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const artifacts = join(root, 'target/test-artifacts');

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
    const fromPage = (await readStream(client, 'device-readings'))
      .flatMap((r) => userRecords(r.Data, r.PartitionKey))
      .filter((u) => /^(web|serial)-/.test(u.partitionKey));
    client.destroy();
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
