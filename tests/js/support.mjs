// Test support: a kinesalite server on 127.0.0.1 and an independent reader (the AWS SDK for
// JavaScript v3) that reads every shard back.
import { before, after } from 'node:test';
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import {
  KinesisClient,
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  ListShardsCommand,
  GetShardIteratorCommand,
  GetRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { freePort } from './workerd.mjs';

const require = createRequire(import.meta.url);

const { deaggregateSync } = require('aws-kinesis-agg');
const KPL_MAGIC = Buffer.from('f3899ac2', 'hex');

/**
 * The user records one Kinesis record (its data and partition key) carries, unpacked by the
 * official aws-kinesis-agg decoder with checksums verified: `[{ data, partitionKey,
 * subSequenceNumber }]`, the subsequence number undefined for a plain record.
 */
export function userRecords(bytes, partitionKey = '') {
  const data = Buffer.from(bytes);
  if (!data.subarray(0, 4).equals(KPL_MAGIC)) return [{ data, partitionKey, subSequenceNumber: undefined }];
  let out;
  deaggregateSync({ data: data.toString('base64'), partitionKey, sequenceNumber: '0' }, true, (err, users) => {
    if (err) throw err;
    out = users.map((u) => ({ data: Buffer.from(u.data, 'base64'), partitionKey: u.partitionKey, subSequenceNumber: u.subSequenceNumber }));
  });
  return out;
}

export const TEST_CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };

/** Start kinesalite in this process, in memory, on an ephemeral loopback port. */
export async function startKinesalite() {
  const kinesalite = require('kinesalite');
  const server = kinesalite({ createStreamMs: 5, deleteStreamMs: 5, updateStreamMs: 5, shardLimit: 100 });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const endpoint = `http://127.0.0.1:${server.address().port}`;
  const client = new KinesisClient({ region: 'us-east-1', endpoint, credentials: TEST_CREDENTIALS, maxAttempts: 1,
    // The SDK's Kinesis client defaults to HTTP/2, which kinesalite does not speak.
    requestHandler: new NodeHttpHandler(),
  });
  return {
    endpoint,
    client,
    async close() {
      client.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** kinesalite for a test file: started before its tests, stopped after them. Gives `endpoint`
 * and `client` once started, and `options(stream)`, a producer's or reader's options for it. */
export function kinesaliteForTests() {
  const k = {
    options: (stream) => ({ region: 'us-east-1', streamName: stream, endpoint: k.endpoint, credentials: TEST_CREDENTIALS }),
  };
  before(async () => Object.assign(k, await startKinesalite()));
  after(async () => k.close?.());
  return k;
}

/** Create a stream and wait until it is active. Names must not be Array.prototype members
 * (`entries`, `map`, ...): kinesalite keeps stream databases in an array indexed by name. */
export async function createStream(client, name, shards) {
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  for (let i = 0; i < 200; i++) {
    const d = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (d.StreamDescriptionSummary.StreamStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`stream ${name} did not become active`);
}

/** Every record in every shard, with the shard it was read from. */
export async function readStream(client, name) {
  const { Shards } = await client.send(new ListShardsCommand({ StreamName: name }));
  const out = [];
  for (const shard of Shards) {
    let { ShardIterator: iterator } = await client.send(
      new GetShardIteratorCommand({ StreamName: name, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    while (iterator) {
      const r = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10000 }));
      for (const rec of r.Records) out.push({ ...rec, ShardId: shard.ShardId, HashKeyRange: shard.HashKeyRange });
      if (r.Records.length === 0) break;
      iterator = r.NextShardIterator;
    }
  }
  return out;
}

/** Read a KinesisReader until `count` records arrived (or 5 s passed). */
export async function readUntil(reader, count, from = 'TRIM_HORIZON') {
  const controller = new AbortController();
  const got = [];
  const timer = setTimeout(() => controller.abort(), 5_000);
  for await (const batch of reader.records({ from, pollMs: 20, signal: controller.signal })) {
    got.push(...batch);
    if (got.length >= count) break;
  }
  clearTimeout(timer);
  return got;
}

/** moto's server (PyPI) on a free loopback port (freePort), started as its own process and
 * ready for calls: `{ url, port, stop() }` (stops that process only). `env` adds to its
 * environment (INITIAL_NO_AUTH_ACTION_COUNT turns IAM authorization on after that many calls). */
export async function startMoto(env = {}) {
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore', env: { ...process.env, ...env } });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; ; i++) {
    try {
      await fetch(url);
      break;
    } catch {
      if (i > 200 || child.exitCode !== null) {
        child.kill();
        throw new Error('moto_server did not start');
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    port,
    stop: () => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', resolve), child.kill()))),
  };
}

/** moto for a test file: started before its tests, stopped after them; `url` once started. */
export function motoForTests() {
  const moto = {};
  before(async () => Object.assign(moto, await startMoto()));
  after(() => moto.stop?.());
  return moto;
}
