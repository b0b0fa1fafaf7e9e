// KinesisReader, the package's small stream reader, against kinesalite: it reads back what two
// producers (one aggregating, one not) wrote, unpacked into user records, and follows a split.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SplitShardCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { KinesisProducer, KinesisReader } from 'kinesis-edge';
import { kinesaliteForTests, createStream, readUntil, TEST_CREDENTIALS } from './support.mjs';

const k = kinesaliteForTests();
const { options } = k;

test('the reader takes its endpoint and stream fields from the core', () => {
  assert.throws(
    () => new KinesisReader({ region: 'US East', streamName: 's', credentials: TEST_CREDENTIALS }),
    (e) => e.code === 'InvalidOption' && e.field === 'region',
  );
  assert.throws(
    () => new KinesisReader({ region: 'us-east-1', streamName: 'a b', credentials: TEST_CREDENTIALS }),
    (e) => e.code === 'InvalidOption' && e.field === 'streamName',
  );
  assert.throws(
    () => new KinesisReader({ region: 'us-east-1', streamName: 's', endpoint: 'localhost:1', credentials: TEST_CREDENTIALS }),
    (e) => e.code === 'InvalidOption' && e.field === 'endpoint',
  );
});

test('reads back every record, aggregated ones unpacked, where put() said it was stored', async () => {
  await createStream(k.client, 'readback', 3);
  const plain = new KinesisProducer(options('readback'));
  const packed = new KinesisProducer({ ...options('readback'), aggregation: true });
  const readings = Array.from({ length: 600 }, (_, i) => ({ data: { i }, partitionKey: `device-${i % 17}` }));
  const results = await Promise.all(readings.map((r, i) => (i % 2 ? packed : plain).put(r)));
  await Promise.all([plain.close(), packed.close()]);

  const got = await readUntil(new KinesisReader(options('readback')), readings.length);
  assert.equal(got.length, readings.length);
  const at = new Map(got.map((r) => [`${r.sequenceNumber}/${r.subSequenceNumber}`, r]));
  readings.forEach((reading, i) => {
    const r = at.get(`${results[i].sequenceNumber}/${results[i].subSequenceNumber}`);
    assert.ok(r, `reading ${i}`);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(r.data)), reading.data);
    assert.equal(r.partitionKey, reading.partitionKey);
    assert.equal(r.shardId, results[i].shardId);
    assert.ok(Math.abs(r.arrivedAt - Date.now()) < 60_000);
  });
  assert.ok(got.some((r) => r.subSequenceNumber === undefined) && got.some((r) => r.subSequenceNumber > 0));
});

test('LATEST skips what came before, and the reader follows a split into the child shards', async () => {
  await createStream(k.client, 'followed', 1);
  const producer = new KinesisProducer({ ...options('followed'), lingerMs: 0 });
  await producer.put({ data: 'before', partitionKey: 'a' });
  const reader = new KinesisReader(options('followed'));
  const controller = new AbortController();
  const seen = [];
  const reading = (async () => {
    for await (const batch of reader.records({ pollMs: 20, signal: controller.signal })) seen.push(...batch.map((r) => new TextDecoder().decode(r.data)));
  })();
  await new Promise((r) => setTimeout(r, 100));
  await producer.put({ data: 'after-1', partitionKey: 'a' });
  const { Shards } = await k.client.send(new ListShardsCommand({ StreamName: 'followed' }));
  await k.client.send(new SplitShardCommand({ StreamName: 'followed', ShardToSplit: Shards[0].ShardId, NewStartingHashKey: (2n ** 127n).toString() }));
  await new Promise((r) => setTimeout(r, 200));
  await producer.putMany(Array.from({ length: 20 }, (_, i) => ({ data: `after-split-${i}`, partitionKey: `k${i}` })));
  for (let i = 0; i < 100 && seen.length < 21; i++) await new Promise((r) => setTimeout(r, 50));
  controller.abort();
  await reading;
  await producer.close();
  assert.ok(!seen.includes('before'), 'LATEST starts after the existing records');
  assert.equal(seen[0], 'after-1');
  assert.deepEqual(seen.slice(1).sort(), Array.from({ length: 20 }, (_, i) => `after-split-${i}`).sort());
});

test('an error answer rejects with a coded KinesisEdgeError', async () => {
  const reader = new KinesisReader(options('no-such-stream'));
  await assert.rejects(reader.records().next(), (e) => e.name === 'KinesisEdgeError' && e.code === 'NotFound' && e.status === 400);
});

test('TRIM_HORIZON after a split reads the closed parent first, then its children: nothing skipped, keys in order', async () => {
  await createStream(k.client, 'lineage', 1);
  const producer = new KinesisProducer({ ...options('lineage'), lingerMs: 0 });
  const put = (phase) => producer.putMany(Array.from({ length: 10 }, (_, i) => ({ data: `${phase}-${i}`, partitionKey: `k${i}` })));
  await put('parent');
  const { Shards } = await k.client.send(new ListShardsCommand({ StreamName: 'lineage' }));
  await k.client.send(new SplitShardCommand({ StreamName: 'lineage', ShardToSplit: Shards[0].ShardId, NewStartingHashKey: (2n ** 127n).toString() }));
  for (let i = 0; i < 50; i++) {
    const { Shards: now } = await k.client.send(new ListShardsCommand({ StreamName: 'lineage' }));
    if (now.length === 3) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  await put('child');
  await producer.close();
  const got = (await readUntil(new KinesisReader(options('lineage')), 20)).map((r) => [r.partitionKey, new TextDecoder().decode(r.data)]);
  assert.equal(got.length, 20);
  for (let i = 0; i < 10; i++) {
    const ofKey = got.filter(([key]) => key === `k${i}`).map(([, d]) => d);
    assert.deepEqual(ofKey, [`parent-${i}`, `child-${i}`], `k${i} in order`);
  }
});

test('a throttled poll and an expired iterator do not end reading or skip records', async () => {
  await createStream(k.client, 'bumpy', 1);
  const producer = new KinesisProducer({ ...options('bumpy'), lingerMs: 0 });
  await producer.putMany(Array.from({ length: 5 }, (_, i) => ({ data: `first-${i}`, partitionKey: 'k' })));
  let polls = 0;
  const answer = (type, message) => new Response(JSON.stringify({ __type: type, message }), { status: 400, headers: { 'x-amzn-errortype': type } });
  const bumpy = (url, init) => {
    if (init.headers['x-amz-target'].endsWith('.GetRecords')) {
      polls += 1;
      if (polls === 2) return Promise.resolve(answer('ProvisionedThroughputExceededException', 'Rate exceeded for shard'));
      if (polls === 3) return Promise.resolve(answer('ExpiredIteratorException', 'Iterator expired'));
    }
    return fetch(url, init);
  };
  const reader = new KinesisReader({ ...options('bumpy'), fetch: bumpy });
  const controller = new AbortController();
  const got = [];
  const reading = (async () => {
    for await (const batch of reader.records({ from: 'TRIM_HORIZON', pollMs: 20, signal: controller.signal })) got.push(...batch.map((r) => new TextDecoder().decode(r.data)));
  })();
  for (let i = 0; i < 100 && got.length < 5; i++) await new Promise((r) => setTimeout(r, 20));
  await producer.putMany(Array.from({ length: 5 }, (_, i) => ({ data: `then-${i}`, partitionKey: 'k' })));
  for (let i = 0; i < 100 && got.length < 10; i++) await new Promise((r) => setTimeout(r, 20));
  controller.abort();
  await reading;
  await producer.close();
  assert.ok(polls > 3, 'both faults were met');
  assert.deepEqual(got, [...Array.from({ length: 5 }, (_, i) => `first-${i}`), ...Array.from({ length: 5 }, (_, i) => `then-${i}`)], 'each once, in order');
});
