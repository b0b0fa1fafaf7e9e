// A device-ingest worker: devices POST readings to /ingest; the worker authenticates the device,
// checks every reading against the device's schema, stamps it with the receive time and the
// device id, and forwards it to Kinesis through kinesis-edge. The answer (202) goes back once the
// readings are accepted; delivery runs under ctx.waitUntil, bounded by FLUSH_DEADLINE_MS.
//
// Environment (wrangler.toml [vars] and `wrangler secret put`):
//   AWS_REGION, STREAM_NAME (or STREAM_ARN), KINESIS_ENDPOINT (optional: a local emulator),
//   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (optional)   -- secrets
//   DEVICES: {"<id>": {"secret": "...", "token": "...", "schema": "thermometer"}}  -- secret
//   MAX_BODY_BYTES (65536), FLUSH_DEADLINE_MS (10000), AGGREGATION ("on" to pack readings)
//   FORWARD ("off": answer 202 after authentication and validation, forward nothing)
import { KinesisProducer, isKinesisEdgeError } from 'kinesis-edge';
import { authenticate } from './auth.js';
import { parseReadings, SCHEMAS } from './readings.js';

const json = (status, body, headers = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

/** The body as bytes, or `null` when it is larger than `max` (declared or actual). */
async function readLimited(request, max) {
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > max) return null;
  const reader = request.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return body;
}

/**
 * One producer per request: a Workers request may not settle promises that another request's
 * I/O created, so producers are not shared across requests. Readings of one request still go
 * in as few PutRecords calls as the limits allow.
 */
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
    aggregation: env.AGGREGATION === 'on',
    recordTtlMs: positiveInteger(env.FLUSH_DEADLINE_MS, 'FLUSH_DEADLINE_MS', 10_000),
  });
}

/** A numeric setting; one that is not a positive integer (say "64KiB") must not turn a limit off. */
function positiveInteger(value, name, fallback) {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`ingest: ${name} must be a positive integer`);
  return n;
}

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname !== '/ingest') return json(404, { error: 'not found' });
    if (request.method !== 'POST') return json(405, { error: 'use POST' }, { allow: 'POST' });

    const max = positiveInteger(env.MAX_BODY_BYTES, 'MAX_BODY_BYTES', 65_536);
    const body = await readLimited(request, max);
    if (body === null) return json(413, { error: `body larger than ${max} bytes` });
    const device = await authenticate(request.headers, body, env);
    if (!device) {
      return json(401, { error: 'unauthenticated: sign the body (X-Device-Id, X-Signature) or send a bearer token' }, {
        'www-authenticate': 'Bearer',
      });
    }
    const schema = SCHEMAS[device.schema];
    if (!schema) {
      console.error(`ingest: device ${device.id} names no known schema`);
      return json(500, { error: 'this device is not configured correctly' });
    }
    const text = new TextDecoder().decode(body);
    const parsed = parseReadings(text, request.headers.get('content-type'), schema);
    if (parsed.error) return json(400, { error: parsed.error });

    const receivedAt = Date.now();
    const records = parsed.readings.map((reading) => ({ data: { ...reading, deviceId: device.id, receivedAt }, partitionKey: device.id }));
    // FORWARD = "off": authenticated and validated, not forwarded (the benchmarks' baseline).
    if (env.FORWARD === 'off') return json(202, { accepted: records.length, receivedAt });
    const producer = producerFor(env);
    const delivery = producer.putMany(records);
    const deadline = positiveInteger(env.FLUSH_DEADLINE_MS, 'FLUSH_DEADLINE_MS', 10_000);
    ctx.waitUntil(
      Promise.all([delivery, producer.close({ timeoutMs: deadline })]).catch((e) => {
        // Codes and counts only: never the readings or the credentials.
        const failed = e.results?.filter((r) => r.status === 'rejected').length ?? 1;
        console.error(`ingest: ${failed} readings of ${device.id} not delivered: ${isKinesisEdgeError(e) ? e.code : 'error'}`);
      }),
    );
    return json(202, { accepted: parsed.readings.length, receivedAt });
  },
};
