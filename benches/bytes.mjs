// Bytes a page downloads (`npm run bench`, or `node benches/bytes.mjs` alone): each page bundled
// by esbuild (bundle, minify, format esm, platform browser, splitting, as `esbuild --bundle
// --minify --format=esm --platform=browser --splitting`), gzip -9 of the entry file and the
// chunks it imports statically, plus gzip -9 of each .wasm the bundle fetches at run time
// (esbuild leaves `new URL('./x.wasm', import.meta.url)` alone; the file is taken from the
// package). Chunks only a dynamic `import()` loads (the IndexedDB spool, loaded only by
// producers with `spool: 'indexeddb'`) are shown apart, not counted. kinesis-edge through its `browser` entry (browser.js of
// KINESIS_EDGE_PKG or the installed package): a page importing only `KinesisProducer`, and one
// importing every export; beside them the peers' pages.
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { pkgFile } from './pkg.mjs';
import { printTable, kb, isMain } from './report.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const TARGET_PRODUCER_ONLY = 53_000;
export const TARGET_EVERY_EXPORT = 65_000;

const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;

export async function pageBytes(contents) {
  const out = mkdtempSync(join(tmpdir(), 'kinesis-edge-bytes-'));
  try {
    const { metafile } = await build({
      metafile: true,
      stdin: { contents, resolveDir: root, sourcefile: 'page.mjs', loader: 'js' },
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      splitting: true,
      loader: { '.wasm': 'file' },
      outdir: out,
      logLevel: 'error',
    });
    // The entry and what it imports statically: what the page loads before anything runs.
    const outputs = metafile.outputs;
    const loaded = new Set();
    const visit = (file) => {
      if (loaded.has(file)) return;
      loaded.add(file);
      for (const i of outputs[file].imports ?? []) if (i.kind === 'import-statement' && outputs[i.path]) visit(i.path);
    };
    for (const [file, o] of Object.entries(outputs)) if (o.entryPoint === 'page.mjs') visit(file);
    let js = 0;
    let lazy = 0;
    let wasm = 0;
    let wasmRaw = 0;
    const fetched = new Set();
    let source = '';
    for (const [file] of Object.entries(outputs)) {
      const bytes = readFileSync(join(root, file));
      if (file.endsWith('.js')) source += bytes.toString('utf8');
      if (file.endsWith('.wasm')) {
        wasm += gz(bytes);
        wasmRaw += bytes.length;
        continue;
      }
      if (!loaded.has(file)) {
        lazy += gz(bytes);
        continue;
      }
      js += gz(bytes);
      for (const m of bytes.toString('utf8').matchAll(/["'`](?:\.\/)?([\w.-]+\.wasm)["'`]/g)) fetched.add(m[1]);
    }
    for (const name of fetched) {
      if (!existsSync(pkgFile(name))) continue;
      const bytes = readFileSync(pkgFile(name));
      wasm += gz(bytes);
      wasmRaw += bytes.length;
    }
    const exportNames = Object.values(outputs).flatMap((o) => (o.entryPoint === 'page.mjs' ? o.exports : []));
    // `fetched`: the .wasm files the page loads; `source`: all its JS, lazy chunks included.
    return { js, lazy, wasm, wasmRaw, total: js + wasm, exportNames, fetched: [...fetched], source };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export async function bundleBytes() {
  const browserEntry = JSON.stringify(pkgFile('browser.js'));
  const metricsEntry = JSON.stringify(pkgFile('metrics-browser.js'));
  const pages = {
    'kinesis-edge: KinesisProducer only': `export { KinesisProducer } from ${browserEntry};`,
    'kinesis-edge: every export': `export * from ${browserEntry};`,
    'kinesis-edge/metrics: KinesisProducer only (CloudWatch metrics)': `export { KinesisProducer } from ${metricsEntry};`,
    '@aws-sdk/client-kinesis: KinesisClient, PutRecordsCommand': `export { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';`,
    'aws4fetch: AwsClient': `export { AwsClient } from 'aws4fetch';`,
  };
  const sizes = {};
  for (const [name, source] of Object.entries(pages)) sizes[name] = await pageBytes(source);
  return { sizes, exportNames: sizes['kinesis-edge: every export'].exportNames };
}

export function printBytes(f) {
  console.log('Bytes: min+gzip -9 of what a page downloads (esbuild --bundle --minify --format=esm --platform=browser; kinesis-edge through its browser entry, the .wasm it fetches added)');
  console.log('');
  const targets = { 'kinesis-edge: KinesisProducer only': TARGET_PRODUCER_ONLY, 'kinesis-edge: every export': TARGET_EVERY_EXPORT };
  printTable(
    ['page', 'JS gzip', '.wasm gzip (raw)', 'total', 'target', 'chunks loaded on demand (not counted)'],
    Object.entries(f.sizes).map(([name, s]) => [
      name,
      kb(s.js),
      s.wasmRaw ? `${kb(s.wasm)} (${kb(s.wasmRaw)})` : '',
      kb(s.total),
      targets[name] ? `≤ ${kb(targets[name])}: ${s.total <= targets[name] ? 'met' : 'missed'}` : '',
      s.lazy ? kb(s.lazy) : '',
    ]),
  );
  if (f.exportNames.length) console.log(`(every export: ${[...f.exportNames].sort().join(', ')})`);
}

if (isMain(import.meta.url)) {
  const figures = await bundleBytes();
  if (process.argv.includes('--json')) console.log(JSON.stringify(figures));
  else printBytes(figures);
}
