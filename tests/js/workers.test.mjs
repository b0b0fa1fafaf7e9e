// The package in a dedicated web worker and in a service worker, in headless Chromium: no
// `window`, fetch and crypto from the worker's global. Each puts a record into kinesalite, and
// an independent reader finds it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, dirname, extname, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startKinesalite, createStream, readStream } from './support.mjs';
import { launchChromium } from './chromium.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };

let k;
let server;
before(async () => {
  k = await startKinesalite();
  await createStream(k.client, 'in-workers', 1);
  // The page, the package and the workers; the service worker at the root so it controls '/'.
  server = createServer(async (req, res) => {
    const path = normalize(new URL(req.url, 'http://x').pathname);
    const file = path === '/sw.js' ? join(root, 'tests/js/workers/sw.js') : join(root, path);
    if (!file.startsWith(root) || !/^\/(pkg|tests\/js\/workers)\/|^\/sw\.js$/.test(path)) return res.writeHead(404).end();
    try {
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(await readFile(file));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
});
after(async () => {
  await new Promise((r) => server?.close(r));
  await k?.close();
});

test('a dedicated worker and a service worker each put a record', async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const query = new URLSearchParams({ endpoint: k.endpoint, stream: 'in-workers' });
    await page.goto(`http://127.0.0.1:${server.address().port}/tests/js/workers/page.html?${query}`);
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
