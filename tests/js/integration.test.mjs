// End to end through the built npm package in Node: 20,000 records of assorted sizes and keys
// into a 4-shard kinesalite stream, read back by an independent client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { KinesisProducer } from 'kinesis-edge';
import { startKinesalite, createStream, readStream, TEST_CREDENTIALS } from './support.mjs';

let k;
before(async () => {
  k = await startKinesalite();
});
after(async () => {
  await k?.close();
});

const RECORDS = 20_000;

/** Deterministic assortment: bytes, strings, JSON values; keys ASCII, multibyte, 256 chars. */
function makeRecord(i) {
  const keys = [`device-${i % 97}`, `capteur-été-${i % 13}`, '温度计', 'k'.repeat(256), `🌡️-${i % 5}`];
  const partitionKey = keys[i % keys.length];
  const sizes = [0, 1, 2, 3, 200, 1000, 4096];
  const size = i % 1000 === 999 ? 200_000 : sizes[i % sizes.length];
  let data;
  let bytes;
  switch (i % 3) {
    case 0:
      data = randomBytes(size);
      bytes = Buffer.from(data);
      break;
    case 1:
      data = `reading ${i} ` + 'x'.repeat(size);
      bytes = Buffer.from(data, 'utf8');
      break;
    default:
      data = { id: i, t: 20 + (i % 10) / 10, pad: 'y'.repeat(size), unit: '°C' };
      bytes = Buffer.from(JSON.stringify(data), 'utf8');
  }
  // Every 50th record names its shard by hash key instead of by partition key.
  const explicitHashKey = i % 50 === 0 ? ((BigInt(i) * 6_805_647_338_418_769_269n) % 2n ** 128n).toString() : undefined;
  return { record: { data, partitionKey, explicitHashKey }, bytes };
}

function hashKeyOf({ record }) {
  if (record.explicitHashKey !== undefined) return BigInt(record.explicitHashKey);
  return BigInt('0x' + createHash('md5').update(record.partitionKey, 'utf8').digest('hex'));
}

test('20,000 records arrive exactly once, intact, under the sequence numbers put() named', async () => {
  await createStream(k.client, 'integration', 4);
  const producer = new KinesisProducer({
    region: 'us-east-1',
    streamName: 'integration',
    endpoint: k.endpoint,
    credentials: TEST_CREDENTIALS,
  });
  const made = Array.from({ length: RECORDS }, (_, i) => makeRecord(i));
  const results = await Promise.all(made.map((m) => producer.put(m.record)));
  await producer.close();

  const stats = producer.stats();
  assert.equal(stats.recordsAccepted, RECORDS);
  assert.equal(stats.recordsAcknowledged, RECORDS);
  assert.equal(stats.recordsFailed, 0);
  assert.equal(stats.bufferedRecords, 0);
  assert.ok(stats.requests >= RECORDS / 500, `at least ${RECORDS / 500} requests, made ${stats.requests}`);

  const stored = await readStream(k.client, 'integration');
  assert.equal(stored.length, RECORDS, 'every record stored once');
  const bySequence = new Map(stored.map((r) => [r.SequenceNumber, r]));
  assert.equal(bySequence.size, RECORDS, 'no sequence number twice');

  made.forEach((m, i) => {
    const got = bySequence.get(results[i].sequenceNumber);
    assert.ok(got, `record ${i}: put() named a sequence number that is not in the stream`);
    assert.equal(got.PartitionKey, m.record.partitionKey, `record ${i}: partition key`);
    assert.ok(Buffer.from(got.Data).equals(m.bytes), `record ${i}: bytes`);
    assert.equal(got.ShardId, results[i].shardId, `record ${i}: shard`);
    const hash = hashKeyOf(m);
    const range = got.HashKeyRange;
    assert.ok(
      hash >= BigInt(range.StartingHashKey) && hash <= BigInt(range.EndingHashKey),
      `record ${i}: hash key outside its shard`,
    );
  });
});
