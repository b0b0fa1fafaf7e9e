// Delivery under faults, against kinesalite behind the fault proxy: each fault on its own, all
// of them mixed (the soak), and an outage. Nothing accepted may go missing; successes are never
// resent; duplicates come only from answers lost after the batch was stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KinesisProducer } from 'kinesis-edge';
import { runSoak, withProxiedStream, MIXED_FAULTS } from './soak.mjs';
import { readStream } from './support.mjs';

function assertDelivered(r, label) {
  assert.deepEqual(r.missing, [], `${label}: acknowledged records missing from the stream`);
  assert.deepEqual(r.wrongSequence, [], `${label}: put() named a sequence number of another record`);
  assert.equal(r.acknowledged + r.rejected, r.records, `${label}: every record settled`);
  assert.equal(r.rejected, 0, `${label}: rejected ${JSON.stringify(r.rejectedCodes)}`);
  assert.equal(r.resentAfterSuccess, 0, `${label}: a record was sent again after its success was answered`);
  assert.ok(r.duplicates <= r.lostAnswerEntries, `${label}: ${r.duplicates} duplicates, only ${r.lostAnswerEntries} answers lost`);
}

const SINGLE = {
  'per-record failures': { failEntries: 0.3 },
  'whole-request errors and throttling': { requestErrors: 0.3 },
  'connection resets before storing': { resetBefore: 0.2 },
  'answers lost after storing': { resetAfter: 0.2 },
  'stalled requests': { stall: 0.1 },
  latency: { latencyMs: 30 },
  'a skewed server clock': { skewMs: 20 * 60_000 },
  'session token expiring': { expireTokenAfter: 3 },
};

for (const [label, faults] of Object.entries(SINGLE)) {
  test(`delivery survives ${label}`, async () => {
    const r = await runSoak({ records: 600, faults, seed: label.length, stream: `single-${label.length}`, options: { maxRecordsPerRequest: 25 } });
    assertDelivered(r, label);
    if (faults.resetAfter) assert.ok(r.lostAnswerEntries > 0, 'the fault happened');
  });
}

test('soak: 4,000 records through every fault mixed', async (t) => {
  const r = await runSoak({ records: 4000, faults: MIXED_FAULTS, seed: 99, options: { maxRecordsPerRequest: 40 } });
  t.diagnostic(`soak: ${JSON.stringify({ ...r, missing: r.missing.length, wrongSequence: r.wrongSequence.length, stats: undefined })}`);
  assertDelivered(r, 'soak');
  assert.ok(r.proxy.failedEntries > 0 && r.proxy.requestErrors > 0 && r.proxy.resets > 0 && r.proxy.expiredTokens > 0);
  assert.equal(r.stats.recordsAcknowledged, r.records);
});

test('soak with aggregation: 4,000 readings in aggregated records through every fault mixed', async () => {
  const r = await runSoak({
    records: 4000,
    faults: MIXED_FAULTS,
    seed: 17,
    stream: 'soak-aggregated',
    options: { aggregation: { maxBytes: 300 }, maxRecordsPerRequest: 5 },
  });
  assertDelivered(r, 'aggregated soak');
  assert.ok(r.proxy.failedEntries > 0 && r.proxy.lostAnswers > 0, `aggregated entries failed and answers were lost: ${JSON.stringify(r.proxy)}`);
  assert.equal(r.stats.aggregation, 'by-shard');
  assert.ok(r.stats.kinesisRecordsAcknowledged * 4 < r.records, `${r.stats.kinesisRecordsAcknowledged} Kinesis records`);
});

/** A producer writing to `stream` through the proxy. */
const producerThrough = (proxy, stream, options) =>
  new KinesisProducer({
    region: 'us-east-1',
    streamName: stream,
    endpoint: proxy.endpoint,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
    recordTtlMs: 120_000,
    ...options,
  });

test('an outage: the buffer stays bounded, requests stay few, and delivery resumes after it', () =>
  withProxiedStream({ faults: { down: true }, stream: 'outage', shards: 2 }, async ({ k, proxy }) => {
    const producer = producerThrough(proxy, 'outage', { lingerMs: 10, maxBufferedRecords: 100 });
    const puts = Array.from({ length: 300 }, (_, i) => producer.put({ data: { id: i }, partitionKey: `d${i % 7}` }));
    await new Promise((r) => setTimeout(r, 1500));
    const during = producer.stats();
    assert.equal(during.recordsAcknowledged, 0);
    assert.equal(during.recordsFailed, 0, 'nothing is given up during the outage');
    assert.equal(during.bufferedRecords + during.inFlightRecords, 100, 'the buffer holds its bound');
    assert.equal(during.waitingRecords, 200, 'the rest wait in their put() calls');
    // Exponential backoff: a handful of attempts in 1.5 s, not a storm.
    assert.ok(proxy.counts.resets <= 15, `${proxy.counts.resets} attempts during the outage`);
    proxy.set({});
    const results = await Promise.all(puts);
    await producer.close();
    const stored = await readStream(k.client, 'outage');
    assert.equal(stored.length, 300);
    assert.equal(new Set(results.map((r) => r.sequenceNumber)).size, 300);
  }));

test("ordering: 'per-key' stores each key's records in put order through retries", () =>
  withProxiedStream({ faults: { failEntries: 0.3, requestErrors: 0.05 }, seed: 5, stream: 'ordered', shards: 2 }, async ({ k, proxy }) => {
    const producer = producerThrough(proxy, 'ordered', { lingerMs: 5, ordering: 'per-key' });
    await Promise.all(Array.from({ length: 600 }, (_, i) => producer.put({ data: { id: i }, partitionKey: `key-${i % 12}` })));
    await producer.close();
    assert.ok(proxy.counts.failedEntries > 50, 'records did fail and were retried');
    const byKey = new Map();
    for (const r of await readStream(k.client, 'ordered')) {
      const list = byKey.get(r.PartitionKey) ?? [];
      list.push({ seq: BigInt(r.SequenceNumber), id: JSON.parse(Buffer.from(r.Data).toString()).id });
      byKey.set(r.PartitionKey, list);
    }
    assert.equal(byKey.size, 12);
    for (const [key, list] of byKey) {
      const ids = list.sort((a, b) => (a.seq < b.seq ? -1 : 1)).map((r) => r.id);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b), `${key} out of order`);
      assert.equal(ids.length, 50);
    }
  }));
