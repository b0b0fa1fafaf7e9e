// The cost table of `npm run bench`: N readings of ~200 bytes over a 4-shard stream through the
// producer, aggregation off and on, each in a fresh process. Counts Kinesis records, PutRecords
// calls and PUT payload units from the producer's stats, and CPU per reading. The stream is a
// stand-in `fetch` that answers like Kinesis (ListShards, and each entry on the shard its hash
// key maps to); its own CPU time is measured and taken out of the producer's.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REGION, STREAM, ENDPOINT, CREDENTIALS, activeStream, isDescribe } from './peers-common.mjs';
import { importKinesisEdge } from './pkg.mjs';

const SHARDS = 4;
const MAX = 2n ** 128n - 1n;
const ranges = Array.from({ length: SHARDS }, (_, i) => {
  const start = (MAX / BigInt(SHARDS)) * BigInt(i) + BigInt(i);
  const end = i === SHARDS - 1 ? MAX : (MAX / BigInt(SHARDS)) * BigInt(i + 1) + BigInt(i);
  return { id: `shardId-00000000000${i}`, start, end };
});
const listShards = JSON.stringify({
  Shards: ranges.map((r) => ({
    ShardId: r.id,
    HashKeyRange: { StartingHashKey: r.start.toString(), EndingHashKey: r.end.toString() },
    SequenceNumberRange: { StartingSequenceNumber: '1' },
  })),
});

/** A reading of ~200 bytes of JSON from one of 1,000 devices. */
function reading(i) {
  const deviceId = `device-${i % 1000}`;
  return {
    data: {
      deviceId,
      ts: 1_764_000_000_000 + i * 250,
      temperature: 20 + ((i * 7) % 100) / 10,
      humidity: 40 + ((i * 13) % 300) / 10,
      battery: 100 - (i % 50),
      lat: 48.8566 + (i % 1000) / 1e5,
      lon: 2.3522 - (i % 1000) / 1e5,
      status: i % 17 === 0 ? 'burst' : 'ok',
      fw: '1.4.2',
    },
    partitionKey: deviceId,
  };
}

async function run(aggregation, total) {
  const { KinesisProducer } = await importKinesisEdge();
  let standInMs = 0;
  let sequence = 0;
  const shardOf = (entry) => {
    const hash = entry.ExplicitHashKey !== undefined
      ? BigInt(entry.ExplicitHashKey)
      : BigInt('0x' + createHash('md5').update(entry.PartitionKey, 'utf8').digest('hex'));
    return ranges.find((r) => hash >= r.start && hash <= r.end).id;
  };
  const producer = new KinesisProducer({
    region: REGION,
    streamName: STREAM,
    endpoint: ENDPOINT,
    credentials: CREDENTIALS,
    aggregation,
    maxBufferedRecords: 100_000,
    maxBufferedBytes: 64 * 1024 * 1024,
    fetch: async (url, init) => {
      const t0 = performance.now();
      let body = listShards;
      if (isDescribe(init)) body = activeStream;
      if (init.headers['x-amz-target'].endsWith('PutRecords')) {
        const request = JSON.parse(new TextDecoder().decode(init.body));
        body = JSON.stringify({
          FailedRecordCount: 0,
          Records: request.Records.map((e) => ({ SequenceNumber: String(++sequence), ShardId: shardOf(e) })),
        });
      }
      const response = new Response(body, { status: 200 });
      standInMs += performance.now() - t0;
      return response;
    },
  });
  const CHUNK = 50_000;
  const chunks = Array.from({ length: Math.ceil(total / CHUNK) }, (_, c) =>
    Array.from({ length: Math.min(CHUNK, total - c * CHUNK) }, (_, i) => reading(c * CHUNK + i)),
  );
  const cpu0 = process.cpuUsage();
  for (const chunk of chunks) await producer.putMany(chunk);
  await producer.close();
  const cpu = process.cpuUsage(cpu0);
  const s = producer.stats();
  if (s.recordsAcknowledged !== total) throw new Error(`only ${s.recordsAcknowledged} of ${total} acknowledged`);
  return {
    kinesisRecords: s.kinesisRecordsAcknowledged,
    calls: s.requests,
    units: s.putPayloadUnits,
    cpuUsPerReading: (((cpu.user + cpu.system) / 1000 - standInMs) * 1000) / total,
    mode: s.aggregation,
  };
}

/** Both rows, each measured in a fresh process. */
export function costTable(total) {
  const rows = {};
  for (const mode of ['off', 'on']) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), mode, String(total)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cost run (aggregation ${mode}) failed: ${r.stderr}`);
    rows[mode] = JSON.parse(r.stdout.trim().split('\n').at(-1));
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode, total] = process.argv.slice(2);
  console.log(JSON.stringify(await run(mode === 'on', Number(total))));
}
