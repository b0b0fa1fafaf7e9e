// Each runtime entry point, chosen through the package's `exports` conditions, loads the wasm its
// own way and works: node (reads the file), browser (fetches it next to the module), workerd
// (imports it as a compiled module). Real browsers and workerd are tested in their own suites.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startKinesalite, createStream, readStream } from './support.mjs';

const run = promisify(execFile);
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
// The AWS test suite's get-vanilla signature.
const VANILLA = '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31';

// Not `entries`: kinesalite keeps streams in an array by name, and `[].entries` exists.
let k;
before(async () => {
  k = await startKinesalite();
  await createStream(k.client, 'entry-points', 1);
});
after(async () => {
  await k?.close();
});

const entries = {
  node: [],
  browser: ['--conditions=browser', '--import', here('./entries/browser-shim.mjs')],
  workerd: ['--conditions=workerd', '--import', here('./entries/workerd-register.mjs')],
};

for (const [entry, flags] of Object.entries(entries)) {
  test(`the ${entry} entry point signs and sends`, async () => {
    const { stdout } = await run(process.execPath, [...flags, here('./entries/use.mjs')], {
      env: { ...process.env, ENDPOINT: k.endpoint, STREAM: 'entry-points', ENTRY: entry },
      timeout: 30_000,
    });
    const out = JSON.parse(stdout.trim().split('\n').at(-1));
    assert.ok(out.authorization.endsWith(`Signature=${VANILLA}`));
    const stored = await readStream(k.client, 'entry-points');
    const mine = stored.find((r) => r.SequenceNumber === out.result.sequenceNumber);
    assert.equal(Buffer.from(mine.Data).toString(), `hello from ${entry}`);
  });
}

test('a bundler keeps the entry point that loads the wasm', async () => {
  // The entry points initialise the module as a side effect; a bundler that thought the package
  // side-effect free would drop that and ship a producer with no wasm behind it.
  const { stdout, status, stderr } = spawnSync(
    here('../../node_modules/.bin/esbuild'),
    ['--bundle', '--format=esm', '--platform=browser', '--log-level=error'],
    { input: "export { KinesisProducer } from 'kinesis-edge';", cwd: here('../..'), encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(status, 0, stderr);
  assert.match(stdout, /kinesis_edge_bg\.wasm/);
});
