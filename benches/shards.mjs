// Per-shard rate limiting (`rateLimit`): one producer, aggregation off, `recordTtlMs: Infinity`,
// sends a hot partition key at 150 % of one shard's record limit (1,500 readings/s) for 30 s
// beside background keys on the other three shards (300/s each), into a 4-shard kinesalite
// stream behind the fault proxy enforcing Kinesis's per-shard write limits (1,000 records and
// 1 MiB per second, one second's worth held; tests/js/fault-proxy.mjs `shardLimits`). Printed,
// limiter off and on: entries sent, the share throttled, retries, requests, and the time from the
// first put to the last acknowledgement against the ideal (the hot shard's records / 1,000 per
// second). Leaves out: real network latency, and Kinesis's own (undocumented) burst allowance.
//
//   BENCH_SHARDS_S   seconds of readings (default 30)
import { createHash } from 'node:crypto';
import { importKinesisEdge } from './pkg.mjs';
import { printTable, isMain } from './report.mjs';
import { startKinesalite, createStream, TEST_CREDENTIALS } from '../tests/js/support.mjs';
import { startFaultProxy } from '../tests/js/fault-proxy.mjs';

export const HOT_PER_S = 1_500;
export const BACKGROUND_PER_S = 300;
export const TARGET_THROTTLED = 0.01;
export const TARGET_SLOWER = 0.05;
const SHARDS = 4;

/** kinesalite splits the hash key space evenly: a key's shard from the MD5 of the key. */
const shardOf = (key) => Number((BigInt(`0x${createHash('md5').update(key).digest('hex')}`) * BigInt(SHARDS)) >> 128n);

/** A partition key on each shard, the hot one on shard 0. */
function keys() {
  const found = new Array(SHARDS);
  for (let i = 0; found.includes(undefined) || found.length < SHARDS; i++) {
    const key = `device-${i}`;
    found[shardOf(key)] ??= key;
    if (found.filter(Boolean).length === SHARDS) break;
  }
  return found;
}

async function run(KinesisProducer, k, rateLimit, seconds) {
  const stream = `hot-${rateLimit ? 'on' : 'off'}`;
  await createStream(k.client, stream, SHARDS);
  const proxy = await startFaultProxy(k.endpoint, { shardLimits: true });
  const producer = new KinesisProducer({
    region: 'us-east-1',
    endpoint: proxy.endpoint,
    streamName: stream,
    credentials: TEST_CREDENTIALS,
    recordTtlMs: Infinity,
    maxBufferedRecords: 1_000_000,
    maxBufferedBytes: 1 << 30,
    lifecycle: false,
    streamSettings: {},
    ...(rateLimit ? { rateLimit: true } : {}),
  });
  const [hot, ...background] = keys();
  const data = 'x'.repeat(180);
  const acks = [];
  const started = performance.now();
  let last = started;
  const put = (key) => acks.push(producer.put({ data, partitionKey: key }).then(() => (last = performance.now())));
  let sentHot = 0;
  let sentBackground = 0;
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const elapsed = Math.min(seconds, (performance.now() - started) / 1000);
      for (; sentHot < Math.floor(elapsed * HOT_PER_S); sentHot++) put(hot);
      for (; sentBackground < Math.floor(elapsed * BACKGROUND_PER_S); sentBackground++) for (const key of background) put(key);
      if (elapsed >= seconds) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });
  await Promise.all(acks);
  const stats = producer.stats();
  await producer.close();
  await proxy.close();
  const ideal = sentHot / 1_000;
  return {
    rateLimit,
    readings: acks.length,
    entries: proxy.counts.entries,
    throttled: proxy.counts.overShardLimits,
    retries: stats.retries,
    requests: stats.requests,
    seconds: (last - started) / 1000,
    ideal,
  };
}

export async function shardLimitRuns({ seconds = Number(process.env.BENCH_SHARDS_S ?? 30) } = {}) {
  const { KinesisProducer } = await importKinesisEdge();
  const k = await startKinesalite();
  try {
    return { seconds, runs: [await run(KinesisProducer, k, false, seconds), await run(KinesisProducer, k, true, seconds)] };
  } finally {
    await k.close();
  }
}

export function printShardLimits({ seconds, runs }) {
  console.log(`Hot key at ${HOT_PER_S}/s on one shard plus ${BACKGROUND_PER_S}/s on each of 3 others, for ${seconds} s; per-shard limits enforced by the stand-in.`);
  printTable(
    ['rateLimit', 'readings', 'entries sent', 'throttled', 'share throttled', 'retries', 'requests', 'time to deliver', 'ideal', 'over ideal'],
    runs.map((r) => [
      r.rateLimit ? 'on (100 %)' : 'off',
      r.readings,
      r.entries,
      r.throttled,
      `${((100 * r.throttled) / r.entries).toFixed(2)} %`,
      r.retries,
      r.requests,
      `${r.seconds.toFixed(1)} s`,
      `${r.ideal.toFixed(1)} s`,
      `${((100 * (r.seconds - r.ideal)) / r.ideal).toFixed(1)} %`,
    ]),
  );
}

if (isMain(import.meta.url)) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  printShardLimits(await shardLimitRuns());
}
