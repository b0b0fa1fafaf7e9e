// Cold start in Node (`npm run bench`, or `node benches/cold.mjs` alone): a fresh `node` process
// per run; `performance.now()` from just before the producer's `import` to its first signed
// 500-reading PutRecords request reaching the transport. kinesis-edge: `lingerMs: 0`, `putMany`,
// until its `fetch` option is called; the AWS SDK: until its request handler is called;
// aws4fetch and the hand-written SigV4 (node:crypto): their import, the body and the signature.
// The readings are made before the clock starts. Median of COLD_RUNS processes per producer, the
// producers taking turns; also the time since the process started (Node's own start included).
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pkgFile } from './pkg.mjs';
import { median, printTable, against, lastJson, isMain } from './report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
export const TARGET_COLD_MS = 10;

const common = pathToFileURL(join(here, 'peers-common.mjs')).href;
const edgeSpecifier = process.env.KINESIS_EDGE_PKG ? pathToFileURL(pkgFile('node.js')).href : 'kinesis-edge';

// Each script: `records` exist and `t0` is taken before it runs; it sets `t1` when the signed
// request reaches the transport (inside the transport: what the stub does next, e.g. the first
// `new Response`, which loads undici, is not counted), or the script's end is the time.
const scripts = {
  'kinesis-edge': `
    const { KinesisProducer } = await import(${JSON.stringify(edgeSpecifier)});
    await new Promise((reached) => {
      const producer = new KinesisProducer({
        region: REGION, streamName: STREAM, endpoint: ENDPOINT, credentials: CREDENTIALS, lingerMs: 0,
        fetch: async (url, init) => {
          // Its DescribeStreamSummary goes out first, beside the batch: on its way, as over a
          // socket (a Response made here would load Node's fetch, ~15 ms no transport costs).
          if (String(init.headers['x-amz-target']).endsWith('.DescribeStreamSummary')) {
            return new Promise(() => {});
          }
          t1 = performance.now();
          reached();
          return new Response(ok500);
        },
      });
      producer.putMany(records);
    });`,
  '@aws-sdk/client-kinesis': `
    const { KinesisClient, PutRecordsCommand } = await import('@aws-sdk/client-kinesis');
    await new Promise((reached) => {
      const client = new KinesisClient({
        region: REGION, endpoint: ENDPOINT, credentials: CREDENTIALS,
        requestHandler: { handle: async () => { t1 = performance.now(); reached(); return new Promise(() => {}); } },
      });
      const encoder = new TextEncoder();
      client.send(new PutRecordsCommand({
        StreamName: STREAM,
        Records: records.map((r) => ({ Data: encoder.encode(JSON.stringify(r.data)), PartitionKey: r.partitionKey })),
      }));
    });`,
  aws4fetch: `
    const { AwsClient } = await import('aws4fetch');
    const client = new AwsClient({ ...CREDENTIALS, region: REGION, service: 'kinesis' });
    const body = JSON.stringify({
      Records: records.map((r) => ({ Data: Buffer.from(JSON.stringify(r.data)).toString('base64'), PartitionKey: r.partitionKey })),
      StreamName: STREAM,
    });
    await client.sign(ENDPOINT + '/', {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.PutRecords' },
      body,
    });`,
  'hand-written SigV4': `
    const { handSigner } = await import(${JSON.stringify(pathToFileURL(join(here, 'sigv4-node.mjs')).href)});
    const signer = handSigner();
    signer.sign(signer.body(records));`,
};

function runOnce(name) {
  const script = `
    const { readings, ok500, REGION, STREAM, ENDPOINT, CREDENTIALS } = await import(${JSON.stringify(common)});
    const records = readings(500);
    let t1;
    const t0 = performance.now();
    ${scripts[name]}
    t1 ??= performance.now();
    console.log(JSON.stringify({ sinceImport: t1 - t0, sinceStart: t1 }));
    process.exit(0);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  if (r.status !== 0) throw new Error(`cold start of ${name} failed: ${r.stderr}`);
  return lastJson(r.stdout);
}

export function coldStart({ runs = 10, names = Object.keys(scripts) } = {}) {
  const all = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < runs; i++) for (const name of names) all[name].push(runOnce(name));
  return {
    runs,
    results: Object.fromEntries(
      names.map((n) => [
        n,
        {
          sinceImport: median(all[n].map((r) => r.sinceImport)),
          min: Math.min(...all[n].map((r) => r.sinceImport)),
          sinceStart: median(all[n].map((r) => r.sinceStart)),
        },
      ]),
    ),
  };
}

export function printColdStart(f) {
  console.log(`Cold start in Node: fresh process, from before the import to the first signed 500-reading request reaching the transport; median of ${f.runs} processes each, producers taking turns`);
  console.log('');
  printTable(
    ['producer', 'import → 1st signed request (median)', '(fastest)', 'since process start (median)'],
    Object.entries(f.results).map(([name, r]) => [name, r.sinceImport.toFixed(1) + ' ms', r.min.toFixed(1) + ' ms', r.sinceStart.toFixed(1) + ' ms']),
  );
  const edge = f.results['kinesis-edge'];
  const hand = f.results['hand-written SigV4'];
  if (edge) {
    console.log('');
    console.log(`kinesis-edge cold start: ${against(edge.sinceImport, { atMost: 10, unit: ' ms', digits: 1 })}` +
      (hand ? `; hand-written SigV4 ${hand.sinceImport.toFixed(1)} ms (target: below it: ${edge.sinceImport < hand.sinceImport ? 'met' : 'missed'})` : ''));
  }
}

if (isMain(import.meta.url)) {
  const figures = coldStart({ runs: Number(process.env.BENCH_COLD_RUNS ?? 10) });
  if (process.argv.includes('--json')) console.log(JSON.stringify(figures));
  else printColdStart(figures);
}
