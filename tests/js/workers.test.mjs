// The package in a dedicated web worker and in a service worker, in headless Chromium: no
// `window`, fetch and crypto from the worker's global. Each puts a record into kinesalite, and
// an independent reader finds it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startKinesalite, createStream, readStream } from './support.mjs';
import { launchChromium } from './chromium.mjs';
import { serveProject } from './static-server.mjs';

let k;
let server;
before(async () => {
  k = await startKinesalite();
  await createStream(k.client, 'in-workers', 1);
  // The service worker at the root, so that it may control the page.
  server = await serveProject({ allow: /^\/(pkg|tests\/js\/workers)\//, aliases: { '/sw.js': 'tests/js/workers/sw.js' } });
});
after(async () => {
  await server?.close();
  await k?.close();
});

test('a dedicated worker and a service worker each put a record', async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const query = new URLSearchParams({ endpoint: k.endpoint, stream: 'in-workers' });
    await page.goto(`${server.url}/tests/js/workers/page.html?${query}`);
    const result = await page.waitForFunction(() => window.__result, null, { timeout: 30_000 }).then((h) => h.jsonValue());
    assert.deepEqual(errors, []);
    const stored = await readStream(k.client, 'in-workers');
    for (const [runtime, name] of [['dedicated', 'dedicated-worker'], ['service', 'service-worker']]) {
      const r = result[runtime];
      assert.ok(r.ok, `${name}: ${r.error}`);
      assert.equal(r.hasWindow, false, `${name} has no window`);
      const mine = stored.find((s) => s.SequenceNumber === r.result.sequenceNumber);
      assert.equal(Buffer.from(mine.Data).toString(), `hello from a ${name}`);
    }
  } finally {
    await browser.close();
  }
});
