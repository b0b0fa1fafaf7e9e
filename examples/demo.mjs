// The demo: N simulated devices stream readings through kinesis-edge into kinesalite, a local
// Kinesis-compatible endpoint started here on 127.0.0.1, and the dashboard (www/) is served on
// 127.0.0.1 for the browser's own devices. Prints live throughput; on Ctrl-C (or after
// --seconds) reads the stream back with an independent client (the AWS SDK for JavaScript) and
// checks every reading of the Node devices.
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { KinesisProducer } from 'kinesis-edge';
import { Device } from './devices.mjs';
import { startDashboard } from './dashboard-server.mjs';

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '25' },
    rate: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '0' },
    port: { type: 'string', default: '4567' },
    'ui-port': { type: 'string', default: '8080' },
    shards: { type: 'string', default: '4' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(`usage: node examples/demo.mjs [--devices 25] [--rate 4] [--seconds 0] [--port 4567] [--ui-port 8080] [--shards 4]
  --rate     readings per second per device
  --seconds  how long the devices stream (0: until Ctrl-C)
  --port     kinesalite's port; --ui-port the dashboard's`);
  process.exit(0);
}
const devices = Number(args.devices);
const rate = Number(args.rate);
const seconds = Number(args.seconds);
const port = Number(args.port);
const shards = Number(args.shards);
const STREAM = 'device-readings';
const REGION = 'us-east-1';
// kinesalite checks that requests are signed but accepts any key: these are demo values.
const credentials = { accessKeyId: 'AKIDDEMO', secretAccessKey: 'demo-secret' };

const require = createRequire(import.meta.url);
// The AWS SDK (the independent reader / a peer) warns on Node 20 about its 2027 plans.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const server = require('kinesalite')({ createStreamMs: 5, deleteStreamMs: 5, updateStreamMs: 5, shardLimit: 100 });
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
const endpoint = `http://127.0.0.1:${server.address().port}`;

const { NodeHttpHandler } = await import('@smithy/node-http-handler');
const sdk = await import('@aws-sdk/client-kinesis');
const reader = new sdk.KinesisClient({ region: REGION, endpoint, credentials, requestHandler: new NodeHttpHandler() });
await reader.send(new sdk.CreateStreamCommand({ StreamName: STREAM, ShardCount: shards }));
for (let i = 0; ; i++) {
  const d = await reader.send(new sdk.DescribeStreamSummaryCommand({ StreamName: STREAM }));
  if (d.StreamDescriptionSummary.StreamStatus === 'ACTIVE') break;
  await new Promise((r) => setTimeout(r, 20));
}

const dashboard = await startDashboard({
  port: Number(args['ui-port']),
  config: { endpoint, region: REGION, streamName: STREAM, ...credentials },
});
console.log(`kinesalite on ${endpoint}, stream "${STREAM}" with ${shards} shards`);
console.log(`dashboard: ${dashboard.url}  (open it and press "Start devices")`);
console.log(`${devices} devices, ${rate} readings/s each, ${seconds ? `${seconds} s` : 'until Ctrl-C'}\n`);

const producer = new KinesisProducer({ region: REGION, streamName: STREAM, endpoint, credentials });
const fleet = Array.from({ length: devices }, (_, i) => new Device(i));
const sent = new Map(); // sequence number -> the reading acknowledged under it
let failed = 0;
const failures = new Map();

const ticker = setInterval(() => {
  for (const device of fleet) {
    for (const reading of device.tick()) {
      producer
        .put({ data: reading, partitionKey: device.id })
        .then((r) => sent.set(r.sequenceNumber, reading))
        .catch((e) => {
          failed += 1;
          failures.set(e.code, (failures.get(e.code) ?? 0) + 1);
        });
    }
  }
}, 1000 / rate);

let last = producer.stats();
const started = Date.now();
const pad = (v, n) => String(v).padStart(n);
console.log('  time  accepted/s  acked/s  total acked  failed  buffered  in flight  requests');
const report = setInterval(() => {
  const s = producer.stats();
  const t = ((Date.now() - started) / 1000).toFixed(0);
  console.log(
    `${pad(t + 's', 6)}  ${pad(s.recordsAccepted - last.recordsAccepted, 10)}  ${pad(s.recordsAcknowledged - last.recordsAcknowledged, 7)}  ` +
      `${pad(s.recordsAcknowledged, 11)}  ${pad(s.recordsFailed, 6)}  ${pad(s.bufferedRecords, 8)}  ${pad(s.inFlightRecords, 9)}  ${pad(s.requests, 8)}`,
  );
  last = s;
}, 1000);

await new Promise((resolve) => {
  if (seconds > 0) setTimeout(resolve, seconds * 1000);
  process.once('SIGINT', resolve);
});
clearInterval(ticker);
await producer.close();
clearInterval(report);

const s = producer.stats();
console.log(`\nclosed: ${s.recordsAccepted} accepted, ${s.recordsAcknowledged} acknowledged, ${s.recordsFailed} failed, in ${s.requests} PutRecords calls`);
if (failures.size) console.log('failures by code:', Object.fromEntries(failures));

// Read every shard back and check each acknowledged reading is there, intact, under its key.
const { Shards } = await reader.send(new sdk.ListShardsCommand({ StreamName: STREAM }));
let readBack = 0;
let intact = 0;
for (const shard of Shards) {
  let { ShardIterator: it } = await reader.send(
    new sdk.GetShardIteratorCommand({ StreamName: STREAM, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
  );
  while (it) {
    const r = await reader.send(new sdk.GetRecordsCommand({ ShardIterator: it, Limit: 10000 }));
    for (const rec of r.Records) {
      // The dashboard's devices write here too; the check covers this process's readings.
      if (!rec.PartitionKey.startsWith('sensor-')) continue;
      readBack += 1;
      const expected = sent.get(rec.SequenceNumber);
      const got = JSON.parse(Buffer.from(rec.Data).toString('utf8'));
      if (expected && got.deviceId === rec.PartitionKey && JSON.stringify(got) === JSON.stringify(expected)) intact += 1;
    }
    if (r.Records.length === 0) break;
    it = r.NextShardIterator;
  }
}
const elapsed = (Date.now() - started) / 1000;
console.log(`read back ${readBack} records from ${Shards.length} shards; ${intact} of ${sent.size} acknowledged readings intact under their sequence numbers`);
console.log(`throughput: ${(s.recordsAcknowledged / elapsed).toFixed(0)} records/s acknowledged over ${elapsed.toFixed(1)} s`);
reader.destroy();
server.close();
await dashboard.close();
process.exit(intact === sent.size && readBack === sent.size && failed === 0 ? 0 : 1);
