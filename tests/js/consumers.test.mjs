// Consumers: `deaggregate` on records read out of kinesalite (written by KinesisProducer with and
// without aggregation, and aggregates made by the official aws-kinesis-agg aggregator), in the
// three shapes consumers get them (Lambda event, GetRecords JSON, AWS SDK), against the official
// decoder; the KCL's rules (bad checksum: plain; good checksum, broken body: MalformedAggregate;
// the shard's hash range); and the example Lambda handler's partial batch failures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { PutRecordCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { KinesisProducer, KinesisReader, deaggregate, signRequest } from 'kinesis-edge';
import { kinesaliteForTests, createStream, readStream, readUntil, userRecords, TEST_CREDENTIALS } from './support.mjs';
import { kinesisConsumer, readingId } from '../../examples/lambda-consumer/handler.mjs';

const require = createRequire(import.meta.url);
const { aggregate } = require('aws-kinesis-agg');
const { AggregatedRecord } = require('aws-kinesis-agg/lib/common');

const MAGIC = Buffer.from('f3899ac2', 'hex');
const md5 = (bytes) => createHash('md5').update(bytes).digest();
const utf8 = (bytes) => Buffer.from(bytes).toString('utf8');
/** An aggregated record around `proto` with its correct MD5. */
const framed = (proto) => Buffer.concat([MAGIC, proto, md5(proto)]);

const k = kinesaliteForTests();
const { options } = k;

/** One Kinesis call as JSON, signed by the package (kinesalite wants a well-formed signature). */
async function call(operation, input) {
  const body = JSON.stringify(input);
  const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `Kinesis_20131202.${operation}` };
  const signed = await signRequest({ method: 'POST', url: k.endpoint, headers, body, region: 'us-east-1', service: 'kinesis', credentials: TEST_CREDENTIALS });
  const response = await fetch(k.endpoint, { method: 'POST', headers: { ...headers, ...signed }, body });
  assert.equal(response.status, 200, `${operation}: ${await response.clone().text()}`);
  return response.json();
}

/** Every shard's records as GetRecords' JSON gives them (`Data` base64), with the shard. */
async function readJson(stream) {
  const { Shards } = await call('ListShards', { StreamName: stream });
  const out = [];
  for (const shard of Shards) {
    let { ShardIterator: iterator } = await call('GetShardIterator', { StreamName: stream, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' });
    for (;;) {
      const page = await call('GetRecords', { ShardIterator: iterator, Limit: 10000 });
      out.push(...page.Records.map((record) => ({ shard, record })));
      if (page.Records.length === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return out;
}

/** A GetRecords JSON record as the Lambda event record that would carry it. */
const lambdaRecord = (r, shardId = 'shardId-000000000000') => ({
  kinesis: {
    kinesisSchemaVersion: '1.0',
    partitionKey: r.PartitionKey,
    sequenceNumber: r.SequenceNumber,
    data: r.Data,
    approximateArrivalTimestamp: r.ApproximateArrivalTimestamp,
  },
  eventSource: 'aws:kinesis',
  eventVersion: '1.0',
  eventID: `${shardId}:${r.SequenceNumber}`,
  eventName: 'aws:kinesis:record',
  invokeIdentityArn: 'arn:aws:iam::123456789012:role/consumer',
  awsRegion: 'us-east-1',
  eventSourceARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/s',
});

/** Records made by aws-kinesis-agg's aggregator: `[{ partitionKey, data, ExplicitHashKey? }]`. */
function officialAggregates(records) {
  return new Promise((resolve, reject) => {
    const out = [];
    aggregate(records, (encoded, done) => {
      out.push(encoded);
      done();
    }, () => resolve(out), reject);
  });
}

const put = (stream, data, partitionKey, explicitHashKey) =>
  k.client.send(new PutRecordCommand({ StreamName: stream, Data: data, PartitionKey: partitionKey, ExplicitHashKey: explicitHashKey }));

test('records written with and without aggregation come back in order, the same from a Lambda event, GetRecords JSON and the AWS SDK', async () => {
  await createStream(k.client, 'consumed', 2);
  const plain = new KinesisProducer(options('consumed'));
  const packed = new KinesisProducer({ ...options('consumed'), aggregation: true });
  const readings = Array.from({ length: 300 }, (_, i) => ({ data: { i }, partitionKey: `device-${i % 13}` }));
  const results = await Promise.all(readings.map((r, i) => (i % 3 ? packed : plain).put(r)));
  await Promise.all([plain.close(), packed.close()]);

  const json = await readJson('consumed');
  const sdk = await readStream(k.client, 'consumed');
  assert.deepEqual(sdk.map((r) => r.SequenceNumber), json.map(({ record }) => record.SequenceNumber));
  const fromJson = deaggregate(json.map(({ record }) => record));
  const fromSdk = deaggregate(sdk);
  const fromLambda = deaggregate(json.map(({ record, shard }) => lambdaRecord(record, shard.ShardId)));
  assert.equal(fromJson.length, readings.length);
  assert.deepEqual(fromSdk, fromJson);
  assert.deepEqual(fromLambda, fromJson);

  // Each reading is where put() said, with its key; plain ones have no subsequence number.
  const at = new Map(fromJson.map((u) => [`${u.sequenceNumber}/${u.subSequenceNumber}`, u]));
  readings.forEach((reading, i) => {
    const u = at.get(`${results[i].sequenceNumber}/${results[i].subSequenceNumber}`);
    assert.ok(u, `reading ${i}`);
    assert.ok(u.data instanceof Uint8Array);
    assert.deepEqual(JSON.parse(utf8(u.data)), reading.data);
    assert.equal(u.partitionKey, reading.partitionKey);
    assert.equal(u.subSequenceNumber === undefined, i % 3 === 0);
    assert.ok(Math.abs(u.arrivedAt - Date.now()) < 60_000);
  });
  // In order: Kinesis records in stream order, user records in aggregate order, as the
  // official decoder (aws-kinesis-agg, checksums verified) has them.
  const official = json.flatMap(({ record }) =>
    userRecords(Buffer.from(record.Data, 'base64'), record.PartitionKey).map((u) => ({ ...u, sequenceNumber: record.SequenceNumber })),
  );
  assert.deepEqual(
    fromJson.map((u) => [u.sequenceNumber, u.subSequenceNumber, u.partitionKey, utf8(u.data)]),
    official.map((u) => [u.sequenceNumber, u.subSequenceNumber, u.partitionKey, utf8(u.data)]),
  );
});

test('aggregates made by the official aws-kinesis-agg aggregator unpack into its records, explicit hash keys included', async () => {
  await createStream(k.client, 'official', 1);
  const records = Array.from({ length: 40 }, (_, i) => ({
    partitionKey: `key-${i % 5}`,
    data: Buffer.from(JSON.stringify({ n: i, text: 'é'.repeat(i) })),
    ...(i % 4 === 1 ? { explicitHashKey: String(2n ** 100n + BigInt(i)) } : {}),
  }));
  const encoded = await officialAggregates(records.map((r) => ({ ...r })));
  assert.equal(encoded.length, 1);
  for (const e of encoded) await put('official', e.data, e.partitionKey, e.ExplicitHashKey);
  const sdk = await readStream(k.client, 'official');
  const users = deaggregate(sdk);
  assert.equal(users.length, records.length);
  users.forEach((u, i) => {
    assert.deepEqual(Buffer.from(u.data), records[i].data);
    assert.equal(u.partitionKey, records[i].partitionKey);
    assert.equal(u.explicitHashKey, records[i].explicitHashKey);
    assert.equal(u.sequenceNumber, sdk[0].SequenceNumber);
    assert.equal(u.subSequenceNumber, i);
  });
});

test('plain records, records with the magic but a wrong checksum, and ones too short for an aggregate pass through whole', async () => {
  await createStream(k.client, 'plain', 1);
  const [good] = await officialAggregates([{ partitionKey: 'a', data: Buffer.from('one') }, { partitionKey: 'b', data: Buffer.from('two') }]);
  const badSum = Buffer.from(good.data);
  badSum[badSum.length - 1] ^= 0xff;
  const payloads = [Buffer.from('{"t":21.5}'), badSum, Buffer.concat([MAGIC, Buffer.alloc(10)]), MAGIC, framed(Buffer.alloc(0)), Buffer.alloc(0)];
  // kinesalite refuses empty data, as Kinesis does: that one is given straight to deaggregate.
  for (const [i, p] of payloads.slice(0, -1).entries()) await put('plain', p, `pk-${i}`);
  const sdk = await readStream(k.client, 'plain');
  const users = deaggregate([...sdk, { Data: '', PartitionKey: 'pk-5', SequenceNumber: '9' }]);
  assert.deepEqual(users.map((u) => Buffer.from(u.data)), payloads);
  assert.deepEqual(users.map((u) => u.partitionKey), payloads.map((_, i) => `pk-${i}`));
  assert.ok(users.every((u) => u.subSequenceNumber === undefined && u.explicitHashKey === undefined));
  assert.deepEqual(users.slice(0, -1).map((u) => u.sequenceNumber), sdk.map((r) => r.SequenceNumber));
  // A record without a partition key (AUTO streams) has none.
  const [auto] = deaggregate([{ Data: 'AQI=', SequenceNumber: '1' }]);
  assert.deepEqual(auto, { data: new Uint8Array([1, 2]), sequenceNumber: '1' });
});

test('a good checksum over a body that does not decode is MalformedAggregate naming the record, never a short list', async () => {
  await createStream(k.client, 'broken', 1);
  const [good] = await officialAggregates([{ partitionKey: 'a', data: Buffer.from('one') }, { partitionKey: 'b', data: Buffer.from('two') }]);
  const proto = good.data.subarray(4, good.data.length - 16);
  const bodies = {
    truncated: framed(proto.subarray(0, proto.length - 2)),
    'key index out of range': framed(AggregatedRecord.encode({ partition_key_table: ['a'], records: [{ partition_key_index: 0, data: Buffer.from('ok') }, { partition_key_index: 3, data: Buffer.from('x') }] }).finish()),
    'key not UTF-8': framed(Buffer.from([0x0a, 0x02, 0xff, 0xfe, 0x1a, 0x04, 0x08, 0x00, 0x1a, 0x00])),
    'explicit hash key not a number': framed(AggregatedRecord.encode({ partition_key_table: ['a'], explicit_hash_key_table: ['12x'], records: [{ partition_key_index: 0, explicit_hash_key_index: 0, data: Buffer.from('x') }] }).finish()),
  };
  await put('broken', Buffer.from('before'), 'p');
  for (const body of Object.values(bodies)) await put('broken', body, 'p');
  const sdk = await readStream(k.client, 'broken');
  const json = (await readJson('broken')).map(({ record }) => record);
  for (const [i, name] of Object.keys(bodies).entries()) {
    const at = i + 1;
    const sequenceNumber = sdk[at].SequenceNumber;
    for (const [shape, records] of Object.entries({ sdk, json, lambda: json.map((r) => lambdaRecord(r)) })) {
      assert.throws(
        () => deaggregate([records[0], records[at]]),
        (e) =>
          e.name === 'KinesisEdgeError' &&
          e.code === 'MalformedAggregate' &&
          e.sequenceNumber === sequenceNumber &&
          e.message.includes(`records[1] (sequence number ${sequenceNumber})`),
        `${name} (${shape})`,
      );
    }
  }
  // The official decoder reads the truncated one as broken too (it throws a protobuf error).
  assert.throws(() => userRecords(bodies.truncated, 'p'));
  // The dashboard's reader keeps showing such a record, whole, as a plain record.
  const shown = await readUntil(new KinesisReader(options('broken')), sdk.length);
  assert.deepEqual(shown.map((r) => Buffer.from(r.data)), sdk.map((r) => Buffer.from(r.Data)));
  assert.ok(shown.every((r) => r.subSequenceNumber === undefined));
});

test('with the shard hash range, an aggregate holding a record of another shard is dropped whole, as the KCL does', async () => {
  await createStream(k.client, 'sharded', 2);
  const { Shards } = await k.client.send(new ListShardsCommand({ StreamName: 'sharded' }));
  const range = (s) => ({ startingHashKey: s.HashKeyRange.StartingHashKey, endingHashKey: s.HashKeyRange.EndingHashKey });
  const [low, high] = Shards.map(range);
  const hashOf = (key) => BigInt(`0x${md5(Buffer.from(key)).toString('hex')}`);
  const inLow = (key) => hashOf(key) <= BigInt(low.endingHashKey);
  const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
  const lowKey = keys.find(inLow);
  const highKey = keys.find((key) => !inLow(key));

  // What the package's producer aggregates by shard is kept whole on every shard.
  const producer = new KinesisProducer({ ...options('sharded'), aggregation: true });
  await producer.putMany(keys.map((key) => ({ data: key, partitionKey: key })));
  await producer.close();
  const byShard = (records) => {
    const out = {};
    for (const r of records) (out[r.ShardId] ??= []).push(r);
    return out;
  };
  const stored = byShard(await readStream(k.client, 'sharded'));
  const kept = Shards.flatMap((s) => deaggregate(stored[s.ShardId], { hashKeyRange: range(s) }));
  assert.deepEqual(kept.map((u) => utf8(u.data)).sort(), [...keys].sort());
  assert.ok(kept.some((u) => u.subSequenceNumber > 0));

  // A misplaced aggregate (a key of the high shard stored on the low one) is dropped there; its
  // neighbours are kept: an explicit hash key in range wins over its key's MD5, the bounds
  // count as inside, and a plain record is never dropped.
  const agg = async (records) => (await officialAggregates(records)).map((e) => e.data);
  const [misplaced] = await agg([{ partitionKey: lowKey, data: 'a' }, { partitionKey: highKey, data: 'b' }]);
  const [explicit] = await agg([{ partitionKey: highKey, explicitHashKey: low.startingHashKey, data: 'c' }, { partitionKey: lowKey, explicitHashKey: low.endingHashKey, data: 'd' }]);
  const [pastEnd] = await agg([{ partitionKey: lowKey, explicitHashKey: String(BigInt(low.endingHashKey) + 1n), data: 'e' }]);
  for (const data of [misplaced, explicit, pastEnd, Buffer.from('plain')]) await put('sharded', data, highKey, '0');
  const onLow = byShard(await readStream(k.client, 'sharded'))[Shards[0].ShardId].slice(-4);
  assert.deepEqual(deaggregate(onLow, { hashKeyRange: low }).map((u) => utf8(u.data)), ['c', 'd', 'plain']);
  assert.deepEqual(deaggregate(onLow).map((u) => utf8(u.data)), ['a', 'b', 'c', 'd', 'e', 'plain']);
  assert.deepEqual(deaggregate(onLow, { hashKeyRange: high }).map((u) => utf8(u.data)), ['e', 'plain']);
  // The dashboard's reader applies the same rule with the ranges ListShards gave it.
  const shown = (await readUntil(new KinesisReader(options('sharded')), keys.length + 3)).map((r) => utf8(r.data));
  assert.deepEqual(shown.sort(), [...keys, 'c', 'd', 'plain'].sort());

  for (const bad of [{}, { startingHashKey: '0' }, { startingHashKey: 0, endingHashKey: '1' }, { startingHashKey: '01', endingHashKey: '2' }, { startingHashKey: '5', endingHashKey: '4' }, { startingHashKey: '0', endingHashKey: String(2n ** 128n) }]) {
    assert.throws(() => deaggregate(onLow, { hashKeyRange: bad }), (e) => e.code === 'InvalidOption' && e.field === 'hashKeyRange', JSON.stringify(bad));
  }
});

test('what is not a list of Kinesis records is refused with InvalidRecord', () => {
  for (const bad of [undefined, { Records: [] }, 'AQI=']) assert.throws(() => deaggregate(bad), (e) => e.code === 'InvalidRecord');
  assert.throws(() => deaggregate([{ kinesis: { sequenceNumber: '7' } }]), (e) => e.code === 'InvalidRecord' && e.message.includes('records[0] (sequence number 7)'));
  assert.throws(() => deaggregate([{ Data: '***', SequenceNumber: '8' }]), (e) => e.code === 'InvalidRecord' && e.sequenceNumber === '8');
  assert.deepEqual(deaggregate([]), []);
});

test('the example Lambda handler processes readings in order and reports the Kinesis record of a failing one; a retry processes the aggregate again', async () => {
  await createStream(k.client, 'lambda', 1);
  const packed = new KinesisProducer({ ...options('lambda'), aggregation: true, lingerMs: 0 });
  const plain = new KinesisProducer({ ...options('lambda'), lingerMs: 0 });
  const reading = (n) => ({ deviceId: `sensor-${n % 3}`, seq: n, temperature: 20 + n / 10 });
  await plain.put({ data: reading(0), partitionKey: 'sensor-0' });
  await packed.putMany(Array.from({ length: 10 }, (_, i) => ({ data: reading(i + 1), partitionKey: 'sensor-x' })));
  await plain.put({ data: 'not json {', partitionKey: 'sensor-0' });
  await plain.put({ data: reading(11), partitionKey: 'sensor-0' });
  await Promise.all([packed.close(), plain.close()]);
  const records = (await readJson('lambda')).map(({ record }) => lambdaRecord(record));
  assert.equal(records.length, 4, 'one plain, one aggregate of 10, two plain');
  const aggregateSeq = records[1].kinesis.sequenceNumber;

  const log = { lines: [], log(l) { this.lines.push(l); }, warn(l) { this.lines.push(l); }, error(l) { this.lines.push(l); } };
  const processed = [];
  let failOn = 6;
  const handler = kinesisConsumer(async (r, user) => {
    if (r.seq === failOn) throw new Error('the store is down');
    processed.push([r.seq, readingId(user)]);
  }, log);
  assert.deepEqual(await handler({ Records: records }), { batchItemFailures: [{ itemIdentifier: aggregateSeq }] });
  assert.deepEqual(processed.map(([seq]) => seq), [0, 1, 2, 3, 4, 5]);
  assert.ok(log.lines.some((l) => l.includes(`"failed":"${aggregateSeq}/5"`)));

  // Lambda retries from the failed Kinesis record: readings 1-5 come again, with the same ids.
  failOn = -1;
  const firstIds = new Map(processed.map(([seq, id]) => [seq, id]));
  processed.length = 0;
  assert.deepEqual(await handler({ Records: records.slice(1) }), { batchItemFailures: [] });
  assert.deepEqual(processed.map(([seq]) => seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  for (const [seq, id] of processed) if (firstIds.has(seq)) assert.equal(id, firstIds.get(seq), 'a reading keeps its id across retries');
  assert.ok(log.lines.some((l) => l.includes('"reason":"not JSON"')), 'data that is not JSON is skipped, not retried');

  // A malformed aggregate fails the batch at its own record, after the readings before it.
  const bad = lambdaRecord({ Data: framed(Buffer.from([0x1a, 0x05])).toString('base64'), PartitionKey: 'p', SequenceNumber: '999', ApproximateArrivalTimestamp: 1 });
  processed.length = 0;
  assert.deepEqual(await handler({ Records: [records[0], bad, records[3]] }), { batchItemFailures: [{ itemIdentifier: '999' }] });
  assert.deepEqual(processed.map(([seq]) => seq), [0]);
  assert.ok(log.lines.some((l) => l.includes('"code":"MalformedAggregate"')));
});

test('the example handler turns device readings into Embedded Metric Format lines', async () => {
  const { emitMetrics } = await import('../../examples/lambda-consumer/handler.mjs');
  const lines = [];
  const log = { log: (l) => lines.push(JSON.parse(l)), warn: (l) => lines.push(JSON.parse(l)) };
  emitMetrics({ deviceId: 'sensor-1', ts: 1000, temperature: 21.5, battery: 80 }, { sequenceNumber: '5', subSequenceNumber: 2 }, log);
  emitMetrics({ value: 1 }, { sequenceNumber: '6' }, log);
  assert.deepEqual(lines[0], {
    _aws: { Timestamp: 1000, CloudWatchMetrics: [{ Namespace: 'DeviceReadings', Dimensions: [['deviceId']], Metrics: [{ Name: 'temperature' }, { Name: 'battery' }] }] },
    deviceId: 'sensor-1',
    readingId: '5/2',
    temperature: 21.5,
    battery: 80,
  });
  assert.deepEqual(lines[1], { skipped: '6/0', reason: 'no deviceId' });
});
