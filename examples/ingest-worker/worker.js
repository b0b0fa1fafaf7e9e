// A device-ingest worker for fleets. Devices POST readings to /ingest; the HTTP handler
// authenticates the device (Standard Webhooks signature or bearer token, registry in Workers KV),
// applies its rate limit, refuses replays, checks every reading against the device's schema and
// enqueues one message per request on INGEST_QUEUE, answering 202 once the queue accepted it.
// The queue consumer (consumer.js, same worker) forwards whole batches through one producer with
// aggregation. See README.md for the settings and the reasoning.
import { authenticate } from './auth.js';
import { parseReadings, SCHEMAS } from './readings.js';
import { positiveInteger } from './settings.js';
import { consume } from './consumer.js';

export { ReplayGuard } from './replay-guard.js';

// A queue message holds at most 128 KB; JSON is how it is sent.
const MAX_MESSAGE_BYTES = 128_000;

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

const replayGuard = (env, deviceId) => env.REPLAY_GUARD.get(env.REPLAY_GUARD.idFromName(deviceId));

async function ingest(request, env) {
  const max = positiveInteger(env.MAX_BODY_BYTES, 'MAX_BODY_BYTES', 65_536);
  const body = await readLimited(request, max);
  if (body === null) return json(413, { error: `body larger than ${max} bytes` });
  let auth;
  try {
    auth = await authenticate(request.headers, body, env);
  } catch (e) {
    // The registry (KV) could not be read: a passing failure, not the device's fault.
    console.error(`ingest: device registry unavailable: ${e?.name ?? 'error'}`);
    return json(503, { error: 'not accepted, send again' }, { 'retry-after': '5' });
  }
  if (auth.status) return json(auth.status, { error: auth.error }, auth.status === 401 ? { 'www-authenticate': 'Bearer' } : {});
  const { device, webhookId } = auth;

  const schema = SCHEMAS[device.schema];
  if (!schema) {
    console.error(`ingest: device ${device.id} names no known schema`);
    return json(500, { error: 'this device is not configured correctly' });
  }
  const parsed = parseReadings(new TextDecoder().decode(body), request.headers.get('content-type'), schema);
  if (parsed.error) return json(400, { error: parsed.error });

  const receivedAt = Date.now();
  // Readings keep their index in the request: (webhookId, seq) names each one for deduplication.
  const message = { webhookId, deviceId: device.id, receivedAt, attempt: 0, entries: parsed.readings.map((r, seq) => [seq, r]) };
  const size = new TextEncoder().encode(JSON.stringify(message)).byteLength;
  if (size > MAX_MESSAGE_BYTES) return json(413, { error: `readings take ${size} bytes, more than a queue message holds` });

  // The replay check before the rate limit, so a captured request replayed cannot spend the
  // device's quota (the limit is only reached by requests the device signed anew).
  const guard = auth.replayGuarded ? replayGuard(env, device.id) : null;
  const claim = guard ? await guard.claim(webhookId, Number(request.headers.get('webhook-timestamp'))) : 'new';
  if (claim === 'seen') return json(409, { error: 'this webhook-id was already received from this device' });
  if (claim === 'pending') return json(503, { error: 'this webhook-id is being received: send again shortly' }, { 'retry-after': '5' });
  // Not taken after all: the device's resend of this very request must pass.
  const release = () => guard?.release(webhookId).catch((e) => console.error(`ingest: release failed for ${device.id}: ${e?.name ?? 'error'} (the claim lapses in 30 s)`));

  const { success } = await env.DEVICE_LIMITER.limit({ key: device.id });
  if (!success) {
    await release();
    const period = positiveInteger(env.RATE_LIMIT_PERIOD_SECONDS, 'RATE_LIMIT_PERIOD_SECONDS', 60);
    return json(429, { error: 'too many requests from this device' }, { 'retry-after': String(period) });
  }
  try {
    await env.INGEST_QUEUE.send(message, { contentType: 'json' });
  } catch (e) {
    await release();
    console.error(`ingest: enqueue failed for ${device.id}: ${e?.name ?? 'error'}`);
    return json(503, { error: 'not accepted, send again' }, { 'retry-after': '5' });
  }
  // If this fails, the claim lapses as pending: a resend is then taken again (readings carry
  // their webhook-id, so consumers drop the duplicate).
  await guard?.commit(webhookId).catch((e) => console.error(`ingest: commit failed for ${device.id}: ${e?.name ?? 'error'}`));
  return json(202, { accepted: parsed.readings.length, receivedAt, webhookId });
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname !== '/ingest') return json(404, { error: 'not found' });
    if (request.method !== 'POST') return json(405, { error: 'use POST' }, { allow: 'POST' });
    return ingest(request, env);
  },
  queue: consume,
};
