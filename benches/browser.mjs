// The Chromium figures of `npm run bench`: the three producers' browser builds bundled onto one
// page (esbuild), in headless Debian Chromium, each timed from 500 JS values to a signed
// PutRecords request (mean and median over the batches).
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { launchChromium } from '../tests/js/chromium.mjs';

const here = dirname(fileURLToPath(import.meta.url));

export async function browserFigures({ batches = 300 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'kinesis-edge-browser-bench-'));
  await build({
    entryPoints: [join(here, 'browser-peers.mjs')],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    outfile: join(dir, 'bench.js'),
    logLevel: 'error',
  });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="bench.js"></script>');
  const server = createServer(async (req, res) => {
    const file = req.url === '/bench.js' ? 'bench.js' : 'index.html';
    res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html' }).end(await readFile(join(dir, file)));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => typeof window.runBench === 'function');
    return { version: browser.version(), batches, results: await page.evaluate((n) => window.runBench(n), batches) };
  } finally {
    await browser.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await browserFigures()));
}
