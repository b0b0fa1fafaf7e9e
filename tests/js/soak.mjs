// The soak: records with unique ids through the fault proxy into kinesalite, then every shard read
// back. Used by tests/js/soak.test.mjs (small) and `npm run soak` (large).
import { KinesisProducer } from 'kinesis-edge';
import { startKinesalite, createStream, readStream, userRecords } from './support.mjs';
import { startFaultProxy } from './fault-proxy.mjs';

export const MIXED_FAULTS = {
  failEntries: 0.15,
  requestErrors: 0.05,
  resetBefore: 0.03,
  resetAfter: 0.03,
  stall: 0.02,
  latencyMs: 2,
  skewMs: 7 * 60_000,
  expireTokenAfter: 40,
  // Each fault the soaks check for happens for certain, not only when timing lets the draws hit.
  every: { resetBefore: 50, requestErrors: 30, resetAfter: 40 },
};

/** Run `body({ k, proxy })` with kinesalite, a stream, and the fault proxy in front of it. */
export async function withProxiedStream({ faults, seed = 1, stream, shards }, body) {
  const k = await startKinesalite();
  const proxy = await startFaultProxy(k.endpoint, faults, seed);
  try {
    await createStream(k.client, stream, shards);
    return await body({ k, proxy });
  } finally {
    await proxy.close();
    await k.close();
  }
}

/** `onProgress(stats)`, if given, is called every 30 s while records are in flight. */
export function runSoak({ records, faults = MIXED_FAULTS, seed = 1, shards = 4, stream = 'soak', options = {}, onProgress }) {
  return withProxiedStream({ faults, seed, stream, shards }, async ({ k, proxy }) => {
    let tokens = 0;
    const producer = new KinesisProducer({
      region: 'us-east-1',
      streamName: stream,
      endpoint: proxy.endpoint,
      lingerMs: 20,
      requestTimeoutMs: 500,
      recordTtlMs: 600_000,
      credentials: async () => ({
        accessKeyId: 'AKIDSOAK',
        secretAccessKey: 'soak-secret',
        sessionToken: `soak-token-${++tokens}`,
        expiration: Date.now() + 3_600_000,
      }),
      ...options,
    });
    const started = performance.now();
    const outcomes = [];
    const CHUNK = 500;
    for (let i = 0; i < records; i += CHUNK) {
      const batch = Array.from({ length: Math.min(CHUNK, records - i) }, (_, j) => ({
        data: { id: i + j, t: 20 + ((i + j) % 10) },
        partitionKey: `device-${(i + j) % 50}`,
      }));
      outcomes.push(...batch.map((r) => producer.put(r)));
      // Let the producer work between chunks, as a device feed would.
      await new Promise((r) => setImmediate(r));
    }
    const progress = onProgress && setInterval(() => onProgress(producer.stats()), 30_000);
    const settled = await Promise.allSettled(outcomes);
    clearInterval(progress);
    await producer.close();
    const elapsed = performance.now() - started;
    const stored = await readStream(k.client, stream);
    const seen = new Map();
    const bySequence = new Map();
    for (const r of stored) {
      for (const u of userRecords(r.Data)) {
        const id = JSON.parse(u.data.toString('utf8')).id;
        seen.set(id, (seen.get(id) ?? 0) + 1);
        bySequence.set(`${r.SequenceNumber}/${u.subSequenceNumber}`, id);
      }
    }
    let acknowledged = 0;
    let rejected = 0;
    const missing = [];
    const wrongSequence = [];
    const rejectedCodes = {};
    settled.forEach((o, id) => {
      if (o.status === 'fulfilled') {
        acknowledged += 1;
        if (!seen.has(id)) missing.push(id);
        if (bySequence.get(`${o.value.sequenceNumber}/${o.value.subSequenceNumber}`) !== id) wrongSequence.push(id);
      } else {
        rejected += 1;
        rejectedCodes[o.reason.code] = (rejectedCodes[o.reason.code] ?? 0) + 1;
      }
    });
    const duplicates = [...seen.values()].reduce((n, c) => n + c - 1, 0);
    return {
      records,
      acknowledged,
      rejected,
      rejectedCodes,
      missing,
      wrongSequence,
      duplicates,
      lostAnswerEntries: proxy.counts.lostEntries,
      resentAfterSuccess: proxy.resentAfterSuccess.length,
      proxy: { ...proxy.counts },
      stats: producer.stats(),
      seconds: elapsed / 1000,
    };
  });
}
