// The queue consumer: every reading of a batch (up to 100 messages) goes through one producer
// with aggregation, so a batch costs about one PutRecords call and one PUT payload unit per
// shard instead of one per request. A message is acknowledged only once each of its readings is
// stored in Kinesis, sent again as a new delayed message (failed retryably), or sent to the
// dead-letter queue with its error code (refused for good); if any of those sends fails, the
// whole message is retried by the platform (its stored readings then arrive twice: consumers
// drop duplicates by webhookId and seq).
import { KinesisProducer, isKinesisEdgeError } from 'kinesis-edge';
import { positiveInteger } from './settings.js';

// Codes no resend can fix (the core's "refused for good"): the reading, the stream, the keys or
// the KMS key are wrong. Everything else (throttling, outages, timeouts, Expired) may pass later.
const REFUSED_FOR_GOOD = new Set(['InvalidRecord', 'NotFound', 'AccessDenied', 'Validation', 'Kms']);
// Queues accepts at most 100 messages per sendBatch and a delay of at most 12 hours.
const SEND_BATCH = 100;
const MAX_DELAY_SECONDS = 43_200;

function producerFor(env) {
  return new KinesisProducer({
    region: env.AWS_REGION,
    streamName: env.STREAM_NAME,
    streamArn: env.STREAM_ARN,
    endpoint: env.KINESIS_ENDPOINT || undefined,
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      sessionToken: env.AWS_SESSION_TOKEN || undefined,
    },
    aggregation: env.AGGREGATION !== 'off',
    recordTtlMs: positiveInteger(env.DELIVERY_DEADLINE_MS, 'DELIVERY_DEADLINE_MS', 20_000),
  });
}

/** Every reading's outcome, in order: `{ status: 'fulfilled' | 'rejected', reason? }`. */
async function deliver(env, records) {
  const producer = producerFor(env);
  const results = await producer.putMany(records).then(
    (values) => values.map((value) => ({ status: 'fulfilled', value })),
    (e) => {
      if (e.results) return e.results;
      throw e; // refused as a whole (say, a bad setting): the platform retries the batch
    },
  );
  await producer.close();
  return results;
}

const errorCode = (reason) => (isKinesisEdgeError(reason) ? reason.code : 'Error');

async function sendAll(queue, messages) {
  for (let i = 0; i < messages.length; i += SEND_BATCH) await queue.sendBatch(messages.slice(i, i + SEND_BATCH));
}

/** `queue(batch, env)`: forward the batch, then settle each message. */
export async function consume(batch, env) {
  const maxRedeliveries = positiveInteger(env.MAX_REDELIVERIES, 'MAX_REDELIVERIES', 10);
  const baseDelay = positiveInteger(env.RETRY_DELAY_SECONDS, 'RETRY_DELAY_SECONDS', 5);
  const records = [];
  for (const message of batch.messages) {
    const { webhookId, deviceId, receivedAt, entries } = message.body;
    for (const [seq, reading] of entries) records.push({ data: { ...reading, deviceId, receivedAt, webhookId, seq }, partitionKey: deviceId });
  }
  const results = await deliver(env, records);

  let next = 0;
  const counts = { stored: 0, resent: 0, dead: 0, unsettled: 0 };
  await Promise.all(
    batch.messages.map(async (message) => {
      const body = message.body;
      const again = [];
      const dead = [];
      for (const entry of body.entries) {
        const result = results[next++];
        if (result.status === 'fulfilled') continue;
        const code = errorCode(result.reason);
        if (REFUSED_FOR_GOOD.has(code)) dead.push({ entry, code, reason: 'refused' });
        else if (body.attempt >= maxRedeliveries) dead.push({ entry, code, reason: 'redeliveries exhausted' });
        else again.push(entry);
      }
      counts.stored += body.entries.length - again.length - dead.length;
      try {
        const { webhookId, deviceId, receivedAt } = body;
        await sendAll(
          env.DEAD_LETTERS,
          dead.map(({ entry: [seq, reading], code, reason }) => ({ body: { webhookId, deviceId, receivedAt, seq, reading, code, reason }, contentType: 'json' })),
        );
        if (again.length) {
          const attempt = body.attempt + 1;
          const delaySeconds = Math.min(MAX_DELAY_SECONDS, baseDelay * 2 ** (attempt - 1));
          await env.INGEST_QUEUE.send({ ...body, attempt, entries: again }, { contentType: 'json', delaySeconds });
        }
        message.ack();
        counts.resent += again.length;
        counts.dead += dead.length;
      } catch (e) {
        message.retry({ delaySeconds: baseDelay });
        counts.unsettled += body.entries.length;
        console.error(`ingest: could not settle a message of ${body.deviceId}: ${e?.name ?? 'error'}`);
      }
    }),
  );
  // Counts and codes only: never readings or credentials.
  if (counts.resent || counts.dead || counts.unsettled) console.log(`ingest: batch of ${records.length}: ${JSON.stringify(counts)}`);
}
