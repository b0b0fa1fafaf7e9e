// Aggregation end to end: readings packed into KPL aggregated records through the built package,
// stored in kinesalite, read back with GetRecords and unpacked by the official aws-kinesis-agg
// decoder with checksums on; then the KCL's rule (an aggregate is dropped whole when any of its
// records hashes outside the shard it was read from) is applied to everything read back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { SplitShardCommand, ListShardsCommand, DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { KinesisProducer } from 'kinesis-edge';
import { startKinesalite, createStream, readStream, TEST_CREDENTIALS } from './support.mjs';

const require = createRequire(import.meta.url);
const { deaggregateSync } = require('aws-kinesis-agg');
// The decoder's own protobuf model. deaggregateSync reports explicit_hash_key_table[0] for a
// record that has no explicit hash key index (protobufjs reads an absent field as 0); the KCL
// checks field presence, and so does this test, on the same decoded message.
const { AggregatedRecord } = require('aws-kinesis-agg/lib/common.js');
const MAGIC = Buffer.from('f3899ac2', 'hex');
const MAX_HASH = 2n ** 128n - 1n;

let k;
before(async () => {
  k = await startKinesalite();
});
after(async () => {
  await k?.close();
});

function hashKeyOf(partitionKey, explicitHashKey) {
  if (explicitHashKey !== undefined && explicitHashKey !== null) return BigInt(explicitHashKey);
  return BigInt('0x' + createHash('md5').update(partitionKey, 'utf8').digest('hex'));
}

/** A ~200-byte reading from one of `devices` devices; every 40th names its shard by hash key. */
function reading(i, devices, hashKeys = []) {
  const device = `sensor-${i % devices}`;
  const data = JSON.stringify({
    device, seq: i, at: 1_764_000_000_000 + i * 250, temperature: 20 + (i % 37) / 10,
    humidity: 40 + (i % 23), battery: 100 - (i % 100), lat: 52.52 + (i % 11) / 1e4, lon: 13.405 + (i % 7) / 1e4,
    firmware: '2.4.1', note: 'x'.repeat(40 + (i % 9)),
  });
  const explicitHashKey = i % 40 === 0 && hashKeys.length ? hashKeys[(i / 40) % hashKeys.length] : undefined;
  return { data, partitionKey: device, explicitHashKey };
}

/**
 * Everything in the stream as user records, with what a KCL consumer would keep: each Kinesis
 * record is unpacked by aws-kinesis-agg (checksums verified), and an aggregate is kept only if
 * every one of its records hashes inside the shard it was read from.
 */
async function consume(stream) {
  const stored = await readStream(k.client, stream);
  const kept = [];
  let aggregates = 0;
  let dropped = 0;
  for (const r of stored) {
    const data = Buffer.from(r.Data);
    let users;
    deaggregateSync(
      { data: data.toString('base64'), partitionKey: r.PartitionKey, sequenceNumber: r.SequenceNumber },
      true,
      (err, records) => {
        if (err) throw err;
        users = records;
      },
    );
    const aggregated = data.subarray(0, 4).equals(MAGIC);
    if (aggregated) {
      const message = AggregatedRecord.decode(data.subarray(4, data.length - 16));
      assert.equal(message.records.length, users.length);
      message.records.forEach((m, i) => {
        users[i].explicitPartitionKey = Object.hasOwn(m, 'explicit_hash_key_index')
          ? message.explicit_hash_key_table[Number(m.explicit_hash_key_index)]
          : undefined;
      });
    }
    const start = BigInt(r.HashKeyRange.StartingHashKey);
    const end = BigInt(r.HashKeyRange.EndingHashKey);
    // The KCL checks only aggregated records' hash keys.
    const inside = !aggregated || users.every((u) => {
      const h = hashKeyOf(u.partitionKey, u.explicitPartitionKey);
      return h >= start && h <= end;
    });
    if (aggregated) aggregates++;
    if (!inside) {
      dropped++;
      continue;
    }
    for (const u of users) {
      kept.push({
        data: Buffer.from(u.data, 'base64').toString('utf8'),
        partitionKey: u.partitionKey,
        explicitHashKey: u.explicitPartitionKey ?? undefined,
        sequenceNumber: u.sequenceNumber,
        subSequenceNumber: aggregated ? u.subSequenceNumber : undefined,
        shardId: r.ShardId,
      });
    }
  }
  return { kept, aggregates, dropped, kinesisRecords: stored.length };
}

/** Every reading is kept by the KCL rule where its put() result says it is, intact. */
function assertDelivered(readings, results, kept) {
  const at = new Map(kept.map((u) => [`${u.sequenceNumber}/${u.subSequenceNumber}`, u]));
  readings.forEach((r, i) => {
    const res = results[i];
    const u = at.get(`${res.sequenceNumber}/${res.subSequenceNumber}`);
    assert.ok(u, `reading ${i}: put() named ${res.sequenceNumber}/${res.subSequenceNumber}, which a KCL consumer does not get`);
    assert.equal(u.data, r.data, `reading ${i}: data`);
    assert.equal(u.partitionKey, r.partitionKey, `reading ${i}: partition key`);
    assert.equal(u.explicitHashKey, r.explicitHashKey, `reading ${i}: explicit hash key`);
    assert.equal(u.shardId, res.shardId, `reading ${i}: shard`);
  });
}

async function shardEdges(stream) {
  const { Shards } = await k.client.send(new ListShardsCommand({ StreamName: stream }));
  const edges = new Set(['0', MAX_HASH.toString()]);
  for (const s of Shards) {
    edges.add(s.HashKeyRange.StartingHashKey);
    edges.add(s.HashKeyRange.EndingHashKey);
  }
  return [...edges];
}

/** Put every reading, close, and return each put() result and the final stats. */
async function putAll(producer, readings) {
  const results = await Promise.all(readings.map((r) => producer.put(r)));
  await producer.close();
  return { results, stats: producer.stats() };
}

function producerFor(stream, extra = {}) {
  return new KinesisProducer({
    region: 'us-east-1',
    streamName: stream,
    endpoint: k.endpoint,
    credentials: TEST_CREDENTIALS,
    aggregation: true,
    ...extra,
  });
}

test('aggregated readings decode into exactly the originals, and the KCL keeps every aggregate', async () => {
  await createStream(k.client, 'aggregated', 4);
  const edges = await shardEdges('aggregated');
  const readings = Array.from({ length: 6000 }, (_, i) => reading(i, 60, edges));
  const { results, stats } = await putAll(producerFor('aggregated'), readings);
  assert.equal(stats.aggregation, 'by-shard');
  assert.equal(stats.shardCount, 4);
  assert.equal(stats.recordsAcknowledged, readings.length);
  assert.ok(stats.recordsPerKinesisRecord > 20, `${stats.recordsPerKinesisRecord} readings per Kinesis record`);
  assert.ok(results.every((r) => Number.isInteger(r.subSequenceNumber)), 'every reading travelled in an aggregate');

  const { kept, aggregates, dropped, kinesisRecords } = await consume('aggregated');
  assert.equal(dropped, 0, 'no aggregate holds a record outside its shard');
  assert.equal(kinesisRecords, stats.kinesisRecordsAcknowledged);
  assert.equal(aggregates, kinesisRecords);
  assert.equal(kept.length, readings.length, 'every reading once');
  assertDelivered(readings, results, kept);
  for (const edge of edges) {
    assert.ok(kept.some((u) => u.explicitHashKey === edge), `a reading with hash key ${edge} at a range edge`);
  }
});

test('after a split, readings packed with the old map are checked and none is lost to the KCL rule', async () => {
  await createStream(k.client, 'resharded', 2);
  const producer = producerFor('resharded');
  const first = Array.from({ length: 2000 }, (_, i) => reading(i, 50));
  const firstResults = await Promise.all(first.map((r) => producer.put(r)));
  assert.equal(producer.stats().shardCount, 2);

  // Split shard 0 at the middle of its range; the producer's map (refreshed every 60 s) is stale.
  const { Shards } = await k.client.send(new ListShardsCommand({ StreamName: 'resharded' }));
  const s0 = Shards[0];
  const middle = (BigInt(s0.HashKeyRange.StartingHashKey) + BigInt(s0.HashKeyRange.EndingHashKey)) / 2n;
  await k.client.send(
    new SplitShardCommand({ StreamName: 'resharded', ShardToSplit: s0.ShardId, NewStartingHashKey: middle.toString() }),
  );
  for (let i = 0; i < 200; i++) {
    const d = await k.client.send(new DescribeStreamSummaryCommand({ StreamName: 'resharded' }));
    if (d.StreamDescriptionSummary.StreamStatus === 'ACTIVE') break;
    await new Promise((r) => setTimeout(r, 20));
  }

  const second = Array.from({ length: 2000 }, (_, i) => reading(2000 + i, 50));
  const { results: secondResults, stats } = await putAll(producer, second);
  assert.equal(stats.shardCount, 3, 'the map was refreshed after records landed on a new shard');
  assert.equal(stats.aggregation, 'by-shard');
  assert.equal(stats.recordsAcknowledged, 4000);

  const { kept, dropped } = await consume('resharded');
  assert.ok(dropped > 0, 'some aggregates packed with the old map landed on a child shard (the case under test)');
  assertDelivered([...first, ...second], [...firstResults, ...secondResults], kept);
});

/** A fetch in front of kinesalite that answers ListShards with `answer` and passes the rest. */
function withListShards(answer, rewrite = (body) => body) {
  return async (url, init) => {
    const target = init.headers['x-amz-target'];
    if (target === 'Kinesis_20131202.ListShards' && answer) return answer();
    if (target === 'Kinesis_20131202.PutRecords') init = { ...init, body: rewrite(init.body) };
    return fetch(url, init);
  };
}

test('without permission to list shards, only readings with the same partition key share an aggregate', async () => {
  await createStream(k.client, 'unlisted', 4);
  const denied = () =>
    new Response(JSON.stringify({ __type: 'AccessDeniedException', message: 'not authorized to perform kinesis:ListShards' }), {
      status: 400,
      headers: { 'content-type': 'application/x-amz-json-1.1' },
    });
  const readings = Array.from({ length: 3000 }, (_, i) => reading(i, 30));
  const { results, stats } = await putAll(producerFor('unlisted', { fetch: withListShards(denied) }), readings);
  assert.equal(stats.aggregation, 'by-partition-key');
  assert.match(stats.aggregationNote, /AccessDenied/);
  assert.ok(stats.recordsPerKinesisRecord > 20);
  const { kept, dropped } = await consume('unlisted');
  assert.equal(dropped, 0);
  assert.equal(kept.length, readings.length);
  assertDelivered(readings, results, kept);
});

test('a stream that places records itself (AUTO distribution) turns aggregation off without losing a reading', async () => {
  await createStream(k.client, 'autodistributed', 4);
  // The service ignores partition and hash keys: every Kinesis record goes to a shard of its
  // choosing (here: a hash key drawn per record, which kinesalite then honours).
  let seed = 7;
  const anywhere = (body) => {
    const request = JSON.parse(Buffer.from(body).toString('utf8'));
    for (const r of request.Records) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      r.ExplicitHashKey = ((BigInt(seed) * MAX_HASH) / 2n ** 31n).toString();
    }
    return new TextEncoder().encode(JSON.stringify(request));
  };
  const readings = Array.from({ length: 2000 }, (_, i) => reading(i, 40));
  const producer = producerFor('autodistributed', { fetch: withListShards(undefined, anywhere) });
  const { results, stats } = await putAll(producer, readings);
  assert.equal(stats.aggregation, 'auto-distribution');
  assert.match(stats.aggregationNote, /AUTO/);
  const { kept } = await consume('autodistributed');
  assertDelivered(readings, results, kept);
});
