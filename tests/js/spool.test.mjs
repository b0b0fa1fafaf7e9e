// The IndexedDB spool in headless Chromium: readings kept from Kinesis by being offline, by the
// page closing mid-burst, or by expiring, are sent when the page is online again or on the next
// load, oldest first, with their partition keys; nothing accepted is lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStream, readStream } from './support.mjs';
import { pageHarness, onceSteady, atLeast } from './page-harness.mjs';

const h = pageHarness();

/** Readings of `run` in `stream` (each once per copy), waiting up to `ms` for `count`. */
const arrived = (stream, run, count, ms = 8_000) =>
  atLeast(
    async () =>
      (await readStream(h.k.client, stream))
        .map((r) => ({ key: r.PartitionKey, ...JSON.parse(Buffer.from(r.Data).toString()) }))
        .filter((d) => d.run === run),
    count,
    ms,
  );

/** A context with a page of its own, so that closing the test's pages never closes it. */
async function newContext() {
  const context = await h.browser.newContext();
  await context.newPage();
  return context;
}

async function openPage(context, stream, params = {}) {
  const page = await context.newPage();
  const q = new URLSearchParams({ endpoint: h.k.endpoint, stream, ...params });
  await page.goto(`${h.server.url}/tests/js/pages/spool.html?${q}`);
  await page.waitForFunction(() => window.__ready);
  return page;
}

/** Close like a user does (unload handlers run), and wait until the page is gone. */
async function closePage(page) {
  const closed = new Promise((resolve) => page.once('close', resolve));
  await page.close({ runBeforeUnload: true });
  await closed;
}

const stats = (page) => page.evaluate(() => window.__producer.stats());
const waitFor = async (page, predicate, arg) => page.waitForFunction(predicate, arg, { timeout: 10_000 });
const indices = (found) => [...new Set(found.map((d) => d.i))].sort((a, b) => a - b);
const range = (n) => Array.from({ length: n }, (_, i) => i);

test('offline, then closed: the next page load sends every spooled reading', async () => {
  await createStream(h.k.client, 'spool-closed', 2);
  const context = await newContext();
  const page = await openPage(context, 'spool-closed');
  await context.setOffline(true);
  await page.evaluate(() => window.putReadings('offline-closed', 100));
  await waitFor(page, () => window.__producer.stats().spooledRecords === 100);
  await closePage(page);
  await context.setOffline(false);

  const next = await openPage(context, 'spool-closed');
  const found = await arrived('spool-closed', 'offline-closed', 100);
  assert.deepEqual(indices(found), range(100), 'every reading arrived');
  assert.equal(found.length, 100, 'none twice (none had reached Kinesis)');
  for (const d of found) assert.equal(d.key, `tab-${d.i % 7}`, 'with its partition key');
  await waitFor(next, () => window.__producer.stats().spooledRecords === 0);
  assert.equal((await stats(next)).spoolResent, 100);
  await context.close();
});

test('offline in the same page: readings that expired are sent when it is back online', async () => {
  await createStream(h.k.client, 'spool-online', 1);
  const context = await newContext();
  const page = await openPage(context, 'spool-online', { ttl: '1500' });
  await context.setOffline(true);
  await page.evaluate(() => window.putReadings('came-back', 50));
  await waitFor(page, () => window.__outcomes.length === 50);
  assert.deepEqual(await page.evaluate(() => [...new Set(window.__outcomes)]), ['Expired:spooled']);
  await context.setOffline(false);
  const found = await arrived('spool-online', 'came-back', 50);
  assert.deepEqual(indices(found), range(50));
  await waitFor(page, () => window.__producer.stats().spooledRecords === 0);
  await context.close();
});

test('closed mid-burst: keepalive sends what fits, the next load the rest; nothing is lost', async () => {
  await createStream(h.k.client, 'spool-burst', 2);
  const context = await newContext();
  const page = await openPage(context, 'spool-burst', { linger: '60000' });
  await page.evaluate(() => window.putReadings('burst', 400, 1000));
  await waitFor(page, () => window.__producer.stats().spooledRecords === 400);
  await closePage(page);
  const early = (await onceSteady(() => arrived('spool-burst', 'burst', 0))).length;
  assert.ok(early > 0 && early < 400, `${early} left in keepalive requests`);

  await openPage(context, 'spool-burst');
  const found = await arrived('spool-burst', 'burst', 400 + early);
  assert.deepEqual(indices(found), range(400), `every reading arrived (${found.length} with copies, ${early} at close)`);
  // At least once: a reading whose answer the closed page never got is sent again.
  assert.ok(found.length <= 400 + early, `${found.length - 400} duplicates, at most the ${early} sent at close`);
  await context.close();
});

test('past spoolMaxBytes, readings are kept in memory only and counted', async () => {
  await createStream(h.k.client, 'spool-cap', 1);
  const context = await newContext();
  const page = await openPage(context, 'spool-cap', { max: '2000' });
  await context.setOffline(true);
  await page.evaluate(() => window.putReadings('capped', 100));
  // spooledRecords counts a reading once its IndexedDB write has committed, so wait for those.
  await waitFor(page, () => {
    const s = window.__producer.stats();
    return s.spoolOverflowRecords > 0 && s.spooledRecords + s.spoolOverflowRecords === 100;
  });
  const s = await stats(page);
  assert.ok(s.spooledBytes <= 2000, `${s.spooledBytes} bytes spooled`);
  assert.ok(s.spooledRecords > 0, 'readings under the cap were spooled');
  // Back online, all of them still go (from memory or from the spool).
  await context.setOffline(false);
  assert.deepEqual(indices(await arrived('spool-cap', 'capped', 100)), range(100));
  await context.close();
});

test('tabs share a spool: an open tab takes over the readings of a tab that closed with them unsent', async () => {
  await createStream(h.k.client, 'spool-tabs', 2);
  const context = await newContext();
  const first = await openPage(context, 'spool-tabs', { linger: '60000', lifecycle: 'off' });
  await first.evaluate(() => window.putReadings('handover', 300));
  await waitFor(first, () => window.__producer.stats().spooledRecords >= 300);
  const second = await openPage(context, 'spool-tabs');
  // The second tab has seen the first one's readings, and waits on its lock to take them over.
  const waiting = () => second.evaluate(async () => (await navigator.locks.query()).pending.some((l) => l.name.includes(':owner:')));
  for (let i = 0; i < 100 && !(await waiting()); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(await waiting(), 'the open tab waits for the other to go');
  assert.equal((await arrived('spool-tabs', 'handover', 1, 500)).length, 0, 'not while the first tab lives');

  await closePage(first);
  const found = await onceSteady(() => arrived('spool-tabs', 'handover', 300));
  assert.deepEqual(indices(found), range(300), 'the open tab sent them, with no reload');
  assert.equal(found.length, 300, 'each once');
  for (const d of found) assert.equal(d.key, `tab-${d.i % 7}`);
  assert.equal((await stats(second)).spoolResent, 300);
  await context.close();
});

test('a spooled reading is handed to the producer once, however many passes run while it waits for room', async () => {
  await createStream(h.k.client, 'spool-room', 1);
  const context = await newContext();
  const page = await openPage(context, 'spool-room', { ttl: '2000', buffer: '10' });
  await context.setOffline(true);
  await page.evaluate(() => window.putReadings('room', 20));
  await waitFor(page, () => window.__outcomes.length === 20);
  // Still offline, two passes over the spool (an `online` event each): the first hands the 20
  // readings to the producer (10 fit its buffer, 10 wait), the second has nothing to hand.
  const pass = () => page.evaluate(() => dispatchEvent(new Event('online')));
  await pass();
  await waitFor(page, () => window.__producer.stats().spoolResent === 20);
  await pass();
  await new Promise((r) => setTimeout(r, 300));
  const s = await stats(page);
  assert.equal(s.spoolResent, 20);
  assert.equal(s.bufferedRecords + s.inFlightRecords + s.waitingRecords, 20);

  await context.setOffline(false);
  const found = await onceSteady(() => arrived('spool-room', 'room', 20));
  assert.deepEqual(indices(found), range(20));
  assert.equal(found.length, 20, 'each once');
  await context.close();
});

test('where IndexedDB refuses to open, readings are still delivered, counted as not spooled, and stats say why', async () => {
  await createStream(h.k.client, 'spool-broken', 1);
  const context = await newContext();
  const page = await openPage(context, 'spool-broken', { broken: '1' });
  await page.evaluate(() => window.putReadings('broken', 20));
  await waitFor(page, () => window.__outcomes.length === 20);
  assert.deepEqual(await page.evaluate(() => [...new Set(window.__outcomes)]), ['ok']);
  assert.equal((await arrived('spool-broken', 'broken', 20)).length, 20);
  const s = await stats(page);
  assert.equal(s.spooledRecords, 0);
  assert.equal(s.spoolOverflowRecords, 21, 'the warm-up and the 20, all memory-only');
  assert.match(s.spoolError, /UnknownError: The user denied permission/);
  assert.deepEqual(await page.evaluate(() => window.__unhandled), []);
  await context.close();
});

test('readings refused for a reason the page cannot fix stay spooled, are not resent from it, and go once back online', async () => {
  await createStream(h.k.client, 'spool-later', 1);
  const context = await newContext();
  const page = await openPage(context, 'spool-later');
  // flush() resolves once every reading has settled, also while their spool writes commit.
  const settled = await page.evaluate(async () => {
    window.__refuse = true;
    window.putReadings('later', 10);
    await window.__producer.flush();
    return window.__outcomes.length;
  });
  assert.equal(settled, 10);
  assert.deepEqual(await page.evaluate(() => [...new Set(window.__outcomes)]), ['RequestFailed:spooled']);
  const refused = await page.evaluate(() => window.__refused);
  // Past the spool's 5 s retry: nothing was sent again from this page.
  await new Promise((r) => setTimeout(r, 6_000));
  assert.equal(await page.evaluate(() => window.__refused), refused, 'not resent while nothing changed');
  assert.equal((await stats(page)).spooledRecords, 10);

  await page.evaluate(() => (window.__refuse = false));
  await context.setOffline(true);
  await context.setOffline(false);
  const found = await arrived('spool-later', 'later', 10);
  assert.deepEqual(indices(found), range(10), 'sent once back online');
  assert.equal(found.length, 10);
  await waitFor(page, () => window.__producer.stats().spooledRecords === 0);
  await context.close();
});
