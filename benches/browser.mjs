// Whole loop in Chromium (`npm run bench`, or `node benches/browser.mjs` alone): the producers'
// browser builds bundled onto one page (esbuild; kinesis-edge's inline.js, or its browser.js and
// .wasm with BENCH_BROWSER_ENTRY=browser, from KINESIS_EDGE_PKG or the installed package), in
// headless Debian Chromium. The page is served with COOP/COEP (Cross-Origin-Opener-Policy:
// same-origin, Cross-Origin-Embedder-Policy: require-corp), so it is cross-origin isolated and
// performance.now() is not coarsened to 0.1 ms; the loop is also timed over many batches at once.
// Figures per producer: ms per 500-reading batch until every promise settled (median of rounds),
// and ms to the signed request.
import { mkdtempSync, writeFileSync, rmSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { launchChromium } from '../tests/js/chromium.mjs';
import { pkgDir, pkgFile } from './pkg.mjs';
import { printTable, against, isMain } from './report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const TARGET_LOOP_MS = 1.2;
export const TARGET_VS_SDK = 2;

const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
const TYPES = { '.js': 'text/javascript', '.html': 'text/html', '.wasm': 'application/wasm' };

export async function browserFigures({ rounds = 7, batches = 100, entry = process.env.BENCH_BROWSER_ENTRY ?? 'inline' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'kinesis-edge-browser-bench-'));
  const underTest = pkgFile(entry === 'browser' ? 'browser.js' : 'inline.js');
  await build({
    entryPoints: [join(here, 'browser-peers.mjs')],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    outfile: join(dir, 'bench.js'),
    logLevel: 'error',
    plugins: [
      {
        name: 'kinesis-edge-under-test',
        setup(b) {
          b.onResolve({ filter: /^kinesis-edge-under-test$/ }, () => ({ path: underTest }));
        },
      },
    ],
  });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="bench.js"></script>');
  // browser.js fetches the .wasm next to it (esbuild leaves `new URL('./x.wasm', import.meta.url)` alone).
  const wasmFiles = new Set(readdirSync(pkgDir).filter((f) => f.endsWith('.wasm')));
  const server = createServer(async (req, res) => {
    const name = basename(new URL(req.url, 'http://x').pathname) || 'index.html';
    const path = wasmFiles.has(name) ? join(pkgDir, name) : ['bench.js', 'index.html'].includes(name) ? join(dir, name) : null;
    if (!path) return res.writeHead(404, ISOLATION).end();
    res.writeHead(200, { 'content-type': TYPES[name.slice(name.lastIndexOf('.'))], ...ISOLATION }).end(await readFile(path));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => typeof window.runBench === 'function', null, { timeout: 30_000 }).catch(() => {
      throw new Error(`the bench page did not load: ${errors.join('; ')}`);
    });
    const figures = await page.evaluate((o) => window.runBench(o), { rounds, batches });
    return { version: browser.version(), entry: basename(underTest), ...figures };
  } finally {
    await browser.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printBrowser(f) {
  console.log(
    `Whole loop in Chromium ${f.version} (headless, Debian's): the browser builds on one page (kinesis-edge: ${f.entry}), served with COOP/COEP: ` +
      `crossOriginIsolated = ${f.crossOriginIsolated}, performance.now() step ${(f.timerResolutionMs * 1000).toFixed(1)} µs; ` +
      `${f.batches} batches of 500 readings per turn, ${f.rounds} rounds with the producers taking turns, median of the rounds`,
  );
  console.log('');
  const sdk = f.results['@aws-sdk/client-kinesis'];
  const what = {
    'kinesis-edge': 'putMany → all settled',
    '@aws-sdk/client-kinesis': 'send → answer parsed',
    aws4fetch: 'body + sign only',
  };
  printTable(
    ['producer', 'what is timed', 'ms per 500 (round total / batches, median)', '(rounds min–max)', 'ms to signed request (median)', 'SDK / this'],
    Object.entries(f.results).map(([name, r]) => [
      name,
      what[name] ?? '',
      r.loop.toFixed(3),
      `${r.loopMin.toFixed(2)}–${r.loopMax.toFixed(2)}`,
      r.signed.toFixed(3),
      sdk ? (sdk.loop / r.loop).toFixed(2) + '×' : '',
    ]),
  );
  const edge = f.results['kinesis-edge'];
  if (edge) {
    console.log('');
    console.log(`kinesis-edge in Chromium per 500 readings: ${against(edge.loop, { atMost: TARGET_LOOP_MS, unit: ' ms', digits: 3 })}`);
    if (sdk) console.log(`AWS SDK / kinesis-edge in Chromium: ${against(sdk.loop / edge.loop, { atLeast: TARGET_VS_SDK, unit: '×' })}`);
  }
}

if (isMain(import.meta.url)) {
  const figures = await browserFigures({ rounds: Number(process.env.BENCH_ROUNDS ?? 7), batches: Number(process.env.BENCH_BATCHES ?? 100) });
  if (process.argv.includes('--json')) console.log(JSON.stringify(figures));
  else printBrowser(figures);
}
