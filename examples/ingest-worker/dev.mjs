#!/usr/bin/env node
// `npm run ingest:dev -- --port P --kinesis-endpoint URL --stream NAME --devices devices.json`:
// the ingest worker, its queue consumer, the device registry (KV, seeded from devices.json), the
// replay guard (Durable Objects) and the rate limiter, all local in Miniflare (npm, no network),
// forwarding to the given Kinesis endpoint with AWS credentials from the environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION).
// The worker is what `wrangler deploy` would upload (a dry-run bundle), configured from this
// directory's wrangler.toml; a small extra worker keeps what reaches the dead-letter queue, and
// prints it. The tests and benchmarks start it through `startIngest`.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { Miniflare, Log, LogLevel } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { WRANGLER, OFFLINE_ENV } from './wrangler-cli.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const WRANGLER_CONFIG = join(here, 'wrangler.toml');

/**
 * Bundle the worker as `wrangler deploy` would upload it (the script, each .wasm a compiled
 * module) into a temporary directory: `{ dir, script, bytes, sources, remove() }`.
 */
export async function bundle(config = WRANGLER_CONFIG) {
  const dir = mkdtempSync(join(tmpdir(), 'kinesis-ingest-'));
  try {
    await promisify(execFile)(WRANGLER[0], [WRANGLER[1], 'deploy', '--dry-run', '--outdir', dir, '--config', config], {
      cwd: here,
      env: { ...process.env, ...OFFLINE_ENV },
      timeout: 120_000,
    });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const files = readdirSync(dir).filter((f) => f === 'worker.js' || f.endsWith('.wasm'));
  const bytes = Object.fromEntries(files.map((f) => [f, readFileSync(join(dir, f))]));
  const sources = JSON.parse(readFileSync(join(dir, 'worker.js.map'), 'utf8')).sources ?? [];
  return { dir, script: join(dir, 'worker.js'), bytes, sources, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A devices.json entry (`{ secret | secrets, token?, schema, disabled? }`) as its registry value. */
export function registryValue({ secret, secrets, token, tokenHashes, schema, disabled }) {
  const value = { secrets: secrets ?? (secret ? [secret] : []), schema };
  const hashes = [...(tokenHashes ?? []), ...(token ? [createHash('sha256').update(token).digest('hex')] : [])];
  if (hashes.length) value.tokenHashes = hashes;
  if (disabled) value.disabled = true;
  return value;
}

// Dead letters kept in a KV namespace of their own, so a test or a person can read them back.
const DEAD_LETTER_VIEWER = `
export default {
  async queue(batch, env) {
    for (const m of batch.messages) {
      await env.KEPT.put(m.id, JSON.stringify(m.body));
      if (env.PRINT === 'on') console.log('dead letter: ' + JSON.stringify(m.body));
      m.ack();
    }
  },
};`;

/**
 * Serve the ingest worker on 127.0.0.1:`port` (0: any free port). `vars` override wrangler.toml's;
 * `devices` seed the registry. Returns `{ url, mf, devices (KV), deadLetters(), log(), stop() }`.
 */
export async function startIngest({ port = 0, kinesisEndpoint, stream, region, devices = {}, credentials, vars = {}, config = WRANGLER_CONFIG, print = false }) {
  const built = await bundle(config);
  let log = '';
  const collect = (stream) => stream.on('data', (d) => {
    log += d;
    if (print) process.stdout.write(d);
  });
  const { workerOptions } = unstable_getMiniflareWorkerOptions(config);
  const queue = Object.keys(workerOptions.queueConsumers)[0];
  const deadLetterQueue = workerOptions.queueConsumers[queue].deadLetterQueue;
  let mf;
  try {
    mf = new Miniflare({
      host: '127.0.0.1',
      port,
      cf: false, // otherwise Miniflare fetches a file from the internet
      log: new Log(print ? LogLevel.INFO : LogLevel.WARN),
      handleRuntimeStdio: (stdout, stderr) => {
        collect(stdout);
        collect(stderr);
      },
      workers: [
        {
          ...workerOptions,
          name: 'ingest',
          scriptPath: built.script,
          modules: true,
          modulesRoot: built.dir,
          bindings: {
            ...workerOptions.bindings,
            ...(region ? { AWS_REGION: region } : {}),
            ...(stream ? { STREAM_NAME: stream } : {}),
            ...(kinesisEndpoint ? { KINESIS_ENDPOINT: kinesisEndpoint } : {}),
            AWS_ACCESS_KEY_ID: credentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
            ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
            ...vars,
          },
        },
        {
          name: 'dead-letters',
          modules: true,
          script: DEAD_LETTER_VIEWER,
          compatibilityDate: workerOptions.compatibilityDate,
          kvNamespaces: ['KEPT'],
          bindings: { PRINT: print ? 'on' : 'off' },
          queueConsumers: { [deadLetterQueue]: { maxBatchSize: 100, maxBatchTimeout: 1 } },
        },
      ],
    });
    const url = (await mf.ready).href.replace(/\/$/, '');
    const registry = await mf.getKVNamespace('DEVICES', 'ingest');
    for (const [id, entry] of Object.entries(devices)) await registry.put(id, JSON.stringify(registryValue(entry)));
    const kept = await mf.getKVNamespace('KEPT', 'dead-letters');
    return {
      url,
      mf,
      bundle: built,
      registry,
      /** Every message the dead-letter queue received so far. */
      async deadLetters() {
        const out = [];
        let cursor;
        do {
          const page = await kept.list({ cursor });
          for (const { name } of page.keys) out.push(JSON.parse(await kept.get(name)));
          cursor = page.list_complete ? undefined : page.cursor;
        } while (cursor);
        return out;
      },
      log: () => log,
      async stop() {
        await mf.dispose();
        built.remove();
      },
    };
  } catch (e) {
    await mf?.dispose().catch(() => {});
    built.remove();
    throw e;
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8787' },
      'kinesis-endpoint': { type: 'string' },
      stream: { type: 'string' },
      devices: { type: 'string' },
      region: { type: 'string' },
    },
  });
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = process.env;
  if (!values['kinesis-endpoint'] || !values.stream || !values.devices || !accessKeyId || !secretAccessKey) {
    console.error(
      'usage: AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… npm run ingest:dev -- --port P --kinesis-endpoint URL --stream NAME --devices devices.json [--region R]',
    );
    process.exit(2);
  }
  const ingest = await startIngest({
    port: Number(values.port),
    kinesisEndpoint: values['kinesis-endpoint'],
    stream: values.stream,
    region: values.region ?? process.env.AWS_REGION,
    devices: JSON.parse(readFileSync(values.devices, 'utf8')),
    credentials: { accessKeyId, secretAccessKey, sessionToken },
    print: true,
  });
  console.log(`ingest worker on ${ingest.url}/ingest, forwarding to ${values.stream} at ${values['kinesis-endpoint']} (Ctrl-C stops)`);
  const stop = () => ingest.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
