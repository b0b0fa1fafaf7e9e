// The producer reads its stream's settings (DescribeStreamSummary) through the built package:
// against kinesalite where it answers (status, a stream being created, a missing stream, the
// answer shared by the next producer), and through a stand-in for what kinesalite lacks (AUTO
// record distribution, record sizes over 1 MiB, a refused call).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { CreateStreamCommand } from '@aws-sdk/client-kinesis';
import { KinesisProducer } from 'kinesis-edge';
import { startKinesalite, createStream, readStream, userRecords, TEST_CREDENTIALS } from './support.mjs';
import { startStreamStandIn } from './stream-standin.mjs';

const MIB = 1 << 20;
let k;
before(async () => {
  k = await startKinesalite();
});
after(async () => {
  await k?.close();
});

const producer = (endpoint, streamName, extra = {}) =>
  new KinesisProducer({ region: 'us-east-1', endpoint, streamName, credentials: TEST_CREDENTIALS, lingerMs: 5, lifecycle: false, ...extra });

const reading = (i) => ({ data: JSON.stringify({ device: `d${i % 7}`, t: 20 + i / 100 }), partitionKey: `d${i % 7}` });

test('an AUTO stream gets no aggregate, even the first', async () => {
  await createStream(k.client, 'auto-stream', 2);
  const standIn = await startStreamStandIn(k.endpoint, { summary: { RecordDistributionStrategy: 'AUTO', StreamModeDetails: { StreamMode: 'ON_DEMAND' } } });
  try {
    const p = producer(standIn.endpoint, 'auto-stream', { aggregation: true });
    await Promise.all(Array.from({ length: 60 }, (_, i) => p.put(reading(i))));
    // On an AUTO stream a record needs no partition key: sent without one.
    const keyless = await p.put({ data: 'no key' });
    assert.ok(keyless.sequenceNumber);
    assert.deepEqual(standIn.taken, [[{ bytes: 6, partitionKey: undefined }]]);
    const stats = p.stats();
    await p.close();
    assert.equal(stats.aggregation, 'auto-distribution');
    assert.match(stats.aggregationNote, /AUTO record distribution/);
    assert.equal(standIn.calls[0], 'DescribeStreamSummary');
    const stored = await readStream(k.client, 'auto-stream');
    assert.equal(stored.length, 60, 'one Kinesis record per reading');
    assert.ok(stored.every((r) => userRecords(r.Data, r.PartitionKey)[0].subSequenceNumber === undefined), 'no aggregate stored');
  } finally {
    await standIn.close();
  }
});

test("the stream's record limit: 3 MiB taken by a 10 MiB stream, refused by a 1 MiB one; 10 MiB sent alone", async () => {
  await createStream(k.client, 'big-records', 1);
  for (const [kib, accepted] of [[10240, true], [1024, false]]) {
    const standIn = await startStreamStandIn(k.endpoint, { summary: { MaxRecordSizeInKiB: kib } });
    try {
      const p = producer(standIn.endpoint, 'big-records');
      const big = p.put({ data: new Uint8Array(3 * MIB), partitionKey: 'camera-1' });
      big.catch(() => {}); // checked below, after the small record
      const small = p.put(reading(1));
      assert.ok((await small).sequenceNumber, 'a small record is not held');
      if (accepted) {
        const ack = await big;
        assert.ok(ack.sequenceNumber);
        const ten = await p.put({ data: new Uint8Array(10 * MIB - 1), partitionKey: 'k' });
        assert.ok(ten.sequenceNumber);
        const sizes = standIn.taken.map((request) => request.map((r) => r.bytes));
        assert.deepEqual(sizes, [[3 * MIB], [10 * MIB - 1]], 'each in a request of its own, the 10 MiB one alone');
      } else {
        await assert.rejects(big, (e) => e.code === 'InvalidRecord' && /1048576/.test(e.message));
        await assert.rejects(p.put({ data: new Uint8Array(MIB + 1), partitionKey: 'k' }), { code: 'InvalidRecord' });
        assert.equal(standIn.taken.length, 0);
      }
      await p.close();
    } finally {
      await standIn.close();
    }
  }
});

test('a refused DescribeStreamSummary changes nothing but a note in stats()', async () => {
  await createStream(k.client, 'refused-describe', 1);
  const standIn = await startStreamStandIn(k.endpoint, { refuse: [400, 'AccessDeniedException'] });
  try {
    const p = producer(standIn.endpoint, 'refused-describe', { aggregation: true });
    await Promise.all(Array.from({ length: 20 }, (_, i) => p.put(reading(i))));
    const stats = p.stats();
    await p.close();
    assert.match(stats.streamNote, /DescribeStreamSummary failed.*AccessDenied/);
    assert.equal(stats.aggregation, 'by-shard');
    assert.equal(standIn.calls.filter((c) => c === 'DescribeStreamSummary').length, 1, 'not asked again');
    const users = (await readStream(k.client, 'refused-describe')).flatMap((r) => userRecords(r.Data, r.PartitionKey));
    assert.equal(users.length, 20);
  } finally {
    await standIn.close();
  }
});

test('a stream still being created is waited for; the next producer reuses the answer', async () => {
  // A kinesalite of its own, whose streams take 1.5 s to become active.
  const kinesalite = createRequire(import.meta.url)('kinesalite')({ createStreamMs: 1500 });
  await new Promise((resolve) => kinesalite.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${kinesalite.address().port}`;
  const standIn = await startStreamStandIn(endpoint);
  try {
    // kinesalite checks that a signature is there, not that it is right.
    const create = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'Kinesis_20131202.CreateStream',
        'x-amz-date': '20260101T000000Z',
        authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00',
      },
      body: JSON.stringify({ StreamName: 'slow-stream', ShardCount: 1 }),
    });
    assert.equal(create.status, 200);
    const started = Date.now();
    const p = producer(standIn.endpoint, 'slow-stream', { recordTtlMs: 20_000 });
    const acks = await Promise.all(Array.from({ length: 10 }, (_, i) => p.put(reading(i))));
    assert.equal(acks.length, 10);
    assert.ok(Date.now() - started >= 1000, 'delivered once active');
    const describes = standIn.calls.filter((c) => c === 'DescribeStreamSummary').length;
    assert.ok(describes >= 2, `asked while CREATING (${describes} calls)`);
    await p.close();
    // A producer started now in this module takes the answer (fresh) instead of asking.
    const next = producer(standIn.endpoint, 'slow-stream');
    await next.put(reading(11));
    await next.close();
    assert.equal(standIn.calls.filter((c) => c === 'DescribeStreamSummary').length, describes);
  } finally {
    await standIn.close();
    await new Promise((resolve) => kinesalite.close(resolve));
  }
});

test('a record without a partition key is refused by a stream that places records by key', async () => {
  await createStream(k.client, 'keyed-stream', 1);
  const p = producer(k.endpoint, 'keyed-stream');
  await assert.rejects(p.put({ data: 'no key' }), (e) => e.code === 'InvalidRecord' && /partitionKey is required/.test(e.message));
  assert.ok((await p.put(reading(1))).sequenceNumber);
  await p.close();
});

test('a missing stream settles its records as NotFound at once', async () => {
  const p = producer(k.endpoint, 'no-such-stream', { aggregation: true, recordTtlMs: 60_000 });
  const started = Date.now();
  const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => p.put(reading(i))));
  assert.ok(results.every((r) => r.status === 'rejected' && r.reason.code === 'NotFound'));
  assert.ok(Date.now() - started < 10_000, 'not after the time to live');
  await p.close();
});
