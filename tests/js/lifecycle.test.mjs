// Page lifecycle in headless Chromium: readings still buffered when a page is hidden or closed
// leave at once in keepalive requests, within the browser's 64 KiB keepalive budget; with
// `lifecycle: false` a closed page's buffer is lost (the control).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStream, readStream } from './support.mjs';
import { pageHarness, onceSteady, atLeast } from './page-harness.mjs';

const h = pageHarness((h) => createStream(h.k.client, 'lifecycle', 2));

/** Readings of run `run` in the stream, after waiting up to `ms` for `count` of them. */
const arrived = (run, count, ms = 5_000) =>
  atLeast(
    async () =>
      (await readStream(h.k.client, 'lifecycle'))
        .map((r) => Buffer.from(r.Data).toString())
        .filter((text) => text.startsWith('{'))
        .map((text) => JSON.parse(text))
        .filter((d) => d.run === run),
    count,
    ms,
  );

async function openPage(run, params) {
  const page = await h.browser.newPage();
  const q = new URLSearchParams({ endpoint: h.k.endpoint, stream: 'lifecycle', run, ...params });
  await page.goto(`${h.server.url}/tests/js/pages/lifecycle.html?${q}`);
  await page.waitForFunction(() => window.__ready);
  // Let the staged readings reach the producer's buffer.
  await page.evaluate(() => new Promise((r) => setTimeout(r, 50)));
  return page;
}

test('closing a page sends its buffered readings in keepalive requests', async () => {
  const page = await openPage('closed', { count: '200' });
  await page.close({ runBeforeUnload: true });
  const found = await arrived('closed', 200);
  assert.equal(found.length, 200);
  assert.deepEqual(found.map((d) => d.i).sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i));
});

test('navigating away sends them too; hiding the page sends them while it stays open', async () => {
  const page = await openPage('navigated', { count: '50' });
  await page.goto('about:blank');
  assert.equal((await arrived('navigated', 50)).length, 50);

  const hidden = await openPage('hidden', { count: '30' });
  await hidden.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  assert.equal((await arrived('hidden', 30)).length, 30);
  const stats = await hidden.evaluate(() => window.__producer.stats());
  assert.equal(stats.recordsAcknowledged, 30 + 1, 'the answers came back to the open page (and the warm-up)');
  await hidden.close();
});

test('what exceeds the 64 KiB keepalive budget stays behind', async () => {
  // 400 readings of ~1 KB: about 530 KB of request bodies, far over the budget.
  const page = await openPage('over-budget', { count: '400', pad: '1000' });
  await page.close({ runBeforeUnload: true });
  const found = await onceSteady(() => arrived('over-budget', 0));
  assert.ok(found.length > 0, 'some readings left within the budget');
  // Each reading is ~1,400 bytes of base64 JSON entry: at most ~47 fit in 64 KiB.
  assert.ok(found.length <= 47, `${found.length} readings sent: over the keepalive budget`);
});

test('producers of one page share the budget, so the browser refuses none of their requests', async () => {
  const page = await openPage('shared-budget', { count: '200', pad: '1000', producers: '2' });
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  const found = await onceSteady(() => arrived('shared-budget', 0));
  assert.ok(found.length > 0 && found.length <= 47, `${found.length} readings left within the page's budget`);
  // A keepalive request over the page's budget is refused by the browser (a network error).
  const refused = await page.evaluate(() => window.__producers.map((p) => p.stats().failuresByCode.Network ?? 0));
  assert.deepEqual(refused, [0, 0]);
  await page.close();
});

test('with lifecycle: false, a closed page loses its buffer (the control)', async () => {
  const page = await openPage('unmanaged', { count: '50', lifecycle: 'off' });
  await page.close({ runBeforeUnload: true });
  assert.equal((await arrived('unmanaged', 1, 1_500)).length, 0);
});
