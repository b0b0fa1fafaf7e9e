// The package as users get it: `npm pack` of the built package, installed from the tarball into
// throwaway projects, then imported and used from Node ESM, Deno, Bun, an esbuild browser bundle
// and a Vite build (both loaded in headless Chromium). Each sends a record to kinesalite, and an
// independent reader finds it. publint and @arethetypeswrong/cli check the package itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, rmSync, mkdirSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, dirname, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startKinesalite, createStream, readStream, TEST_CREDENTIALS } from './support.mjs';
import { launchChromium } from './chromium.mjs';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = (name) => join(root, 'node_modules/.bin', name);
const STREAM = 'packaged';

let k;
let work;
let tarball;
before(async () => {
  k = await startKinesalite();
  await createStream(k.client, STREAM, 1);
  work = mkdtempSync(join(tmpdir(), 'kinesis-edge-packaging-'));
  const { stdout } = await run('npm', ['pack', join(root, 'pkg'), '--pack-destination', work, '--json', '--ignore-scripts'], { cwd: work });
  tarball = join(work, JSON.parse(stdout)[0].filename);
});
after(async () => {
  await k?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A project with the tarball installed (offline: the tarball has no dependencies). */
async function project(name, files) {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `try-${name}`, private: true, type: 'module', dependencies: { 'kinesis-edge': `file:${tarball}` } }));
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: dir });
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

/** The program every runtime runs: put one record, print its result. */
const program = (runtime) => `
import { KinesisProducer } from 'kinesis-edge';
const producer = new KinesisProducer({
  region: 'us-east-1',
  streamName: ${JSON.stringify(STREAM)},
  endpoint: ${JSON.stringify(k.endpoint)},
  credentials: ${JSON.stringify(TEST_CREDENTIALS)},
});
const result = await producer.put({ data: 'hello from ${runtime}', partitionKey: '${runtime}' });
await producer.close();
export default result;
`;

async function assertStored(result, runtime) {
  assert.match(result.sequenceNumber, /^\d+$/, `${runtime}: ${JSON.stringify(result)}`);
  const stored = await readStream(k.client, STREAM);
  const mine = stored.find((r) => r.SequenceNumber === result.sequenceNumber);
  assert.ok(mine, `${runtime}: the record put() named is not in the stream`);
  assert.equal(Buffer.from(mine.Data).toString(), `hello from ${runtime}`);
}

const cli = {
  node: (dir) => [process.execPath, ['main.mjs'], {}],
  deno: (dir) => [bin('deno'), ['run', '--allow-net=127.0.0.1', '--allow-read', '--allow-env', '--cached-only', 'main.mjs'], { DENO_NO_UPDATE_CHECK: '1', DENO_DIR: join(dir, '.deno') }],
  bun: (dir) => [bin('bun'), ['main.mjs'], { BUN_INSTALL_CACHE_DIR: join(dir, '.bun') }],
};

for (const [runtime, command] of Object.entries(cli)) {
  test(`the packed package works in ${runtime}`, async () => {
    const dir = await project(runtime, {
      'main.mjs': `import result from './put.mjs';\nconsole.log(JSON.stringify(result));\n`,
      'put.mjs': program(runtime),
    });
    const [file, args, env] = command(dir);
    const { stdout } = await run(file, args, { cwd: dir, env: { ...process.env, ...env }, timeout: 60_000 });
    await assertStored(JSON.parse(stdout.trim().split('\n').at(-1)), runtime);
  });
}

/** Serve `dir` on 127.0.0.1 and run `page` in headless Chromium until it reports a result. */
async function inChromium(dir, path) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };
  const server = createServer((req, res) => {
    const file = join(dir, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (!file.startsWith(dir) || !existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${server.address().port}${path}`);
    const result = await page.waitForFunction(() => window.__result ?? window.__error, null, { timeout: 30_000 }).then((h) => h.jsonValue());
    assert.deepEqual(errors, []);
    return result;
  } finally {
    await browser.close();
    await new Promise((r) => server.close(r));
  }
}

const page = (script) => `<!doctype html><meta charset="utf-8"><title>kinesis-edge</title><script type="module" src="${script}"></script>`;
const browserMain = `import result from './put.mjs';\nwindow.__result = result;\n`;

test('an esbuild bundle of the packed package (its inlined entry) works in Chromium', async () => {
  // esbuild leaves `new URL('./x.wasm', import.meta.url)` alone, so its users import the entry
  // with the wasm inlined: no loader or copy step to configure.
  const put = program('esbuild').replace("from 'kinesis-edge'", "from 'kinesis-edge/inline'");
  const dir = await project('esbuild', { 'main.mjs': browserMain, 'put.mjs': put });
  await run(bin('esbuild'), ['main.mjs', '--bundle', '--format=esm', '--platform=browser', '--outdir=dist', '--log-level=error'], { cwd: dir });
  writeFileSync(join(dir, 'dist/index.html'), page('./main.js'));
  await assertStored(await inChromium(join(dir, 'dist'), '/index.html'), 'esbuild');
});

test('a Vite build of the packed package works in Chromium', async () => {
  const dir = await project('vite', { 'index.html': page('/main.mjs'), 'main.mjs': browserMain, 'put.mjs': program('vite') });
  await run(bin('vite'), ['build', '--logLevel', 'error'], { cwd: dir, timeout: 120_000 });
  await assertStored(await inChromium(join(dir, 'dist'), '/index.html'), 'vite');
});

test('publint and arethetypeswrong accept the package', async () => {
  const lint = await run(bin('publint'), ['run', join(root, 'pkg'), '--strict'], { cwd: root });
  assert.doesNotMatch(lint.stdout, /error|warning/i, lint.stdout);
  // Findings kept, on purpose: the package is ESM only (profile esm-only: a CommonJS `require`
  // is not offered), and `./kinesis_edge_bg.wasm` (and its metrics build) is an asset for bundlers and Wrangler, not a
  // module with types.
  const attw = await run(
    bin('attw'),
    ['--pack', join(root, 'pkg'), '--profile', 'esm-only', '--exclude-entrypoints', './kinesis_edge_bg.wasm', './kinesis_edge_metrics_bg.wasm', '--format', 'ascii'],
    { cwd: root },
  ).catch((e) => e);
  assert.equal(attw.code ?? 0, 0, attw.stdout);
});

test('the packed package installs the `kinesis-edge` command (npx kinesis-edge setup)', async () => {
  const dir = await project('command', {});
  const { stdout } = await run('npm', ['exec', '--offline', '--', 'kinesis-edge', 'setup', '--help'], { cwd: dir });
  assert.match(stdout, /^Usage: kinesis-edge setup --region R --stream NAME/);
  // The command is one bundled file: nothing of it is left for a page to import.
  assert.ok(!existsSync(join(dir, 'node_modules/kinesis-edge/setup')));
});

/** `program(runtime)` through `kinesis-edge/metrics`, with metrics on (a default entry would
 * refuse them). Their calls go to kinesalite, which refuses them: counted, the data unaffected. */
const meteredProgram = (runtime) =>
  program(runtime)
    .replace("from 'kinesis-edge'", "from 'kinesis-edge/metrics'")
    .replace('  credentials:', `  metrics: { level: 'summary', endpoint: ${JSON.stringify(k.endpoint)} },\n  credentials:`);

test('the packed metrics entry works in node', async () => {
  const dir = await project('metrics-node', { 'main.mjs': `import result from './put.mjs';\nconsole.log(JSON.stringify(result));\n`, 'put.mjs': meteredProgram('metrics-node') });
  const { stdout } = await run(process.execPath, ['main.mjs'], { cwd: dir, timeout: 60_000 });
  await assertStored(JSON.parse(stdout.trim().split('\n').at(-1)), 'metrics-node');
});

test('a Vite build of the packed metrics entry works in Chromium and emits only the metrics build of the wasm', async () => {
  const dir = await project('vite-metrics', { 'index.html': page('/main.mjs'), 'main.mjs': browserMain, 'put.mjs': meteredProgram('vite-metrics') });
  await run(bin('vite'), ['build', '--logLevel', 'error'], { cwd: dir, timeout: 120_000 });
  const assets = readdirSync(join(dir, 'dist/assets')).filter((f) => f.endsWith('.wasm'));
  assert.equal(assets.length, 1, assets.join(', '));
  assert.match(assets[0], /^kinesis_edge_metrics_bg/);
  await assertStored(await inChromium(join(dir, 'dist'), '/index.html'), 'vite-metrics');
});
