// The example ingest worker (examples/ingest-worker), bundled as `wrangler deploy` would upload
// it and served by Miniflare (npm) with its queue, dead-letter queue, KV registry, replay-guard
// Durable Objects and rate limiter, forwarding to kinesalite on 127.0.0.1 through a fault proxy.
// Requests are signed by the Python `standardwebhooks` library (tests/js/sign-requests.py), an
// independent signer; the stream is read back by the AWS SDK and decoded by aws-kinesis-agg.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { signDeviceRequest } from 'kinesis-edge';
import { startKinesalite, createStream, readStream, userRecords, TEST_CREDENTIALS } from './support.mjs';
import { startFaultProxy } from './fault-proxy.mjs';
import { startIngest, WRANGLER_CONFIG } from '../../examples/ingest-worker/dev.mjs';

const STREAM = 'ingest';
const SHARDS = 4;
const FLEET = 200;
const PER_DEVICE = 50;
const PUT_PAYLOAD_UNIT = 25_000;
const newSecret = () => 'whsec_' + randomBytes(24).toString('base64');
const fleetId = (i) => `fleet-${String(i).padStart(3, '0')}`;

const DEVICES = {
  ...Object.fromEntries(Array.from({ length: FLEET }, (_, i) => [fleetId(i), { secret: newSecret(), schema: 'thermometer' }])),
  'rotating-1': { secrets: [newSecret(), newSecret()], schema: 'thermometer' },
  'disabled-1': { secret: newSecret(), schema: 'thermometer', disabled: true },
  'tracker-1': { token: 'tracker-1-bearer-token-' + randomBytes(8).toString('hex'), schema: 'tracker' },
  'flood-1': { secret: newSecret(), schema: 'meter' },
  'broken-1': { secret: newSecret(), schema: 'no-such-schema' },
};
const OLD_SECRET = newSecret(); // rotating-1's secret before the rotation: no longer in the registry
const SECRETS = [OLD_SECRET, ...Object.values(DEVICES).flatMap((d) => [d.secret, ...(d.secrets ?? []), d.token].filter(Boolean))];
const RATE_LIMIT = Number(/simple = \{ limit = (\d+)/.exec(readFileSync(WRANGLER_CONFIG, 'utf8'))[1]);
const RATE_PERIOD = /simple = \{ limit = \d+, period = (\d+)/.exec(readFileSync(WRANGLER_CONFIG, 'utf8'))[1];
const CACHE_MS = 2_000;

let k;
let proxy;
let ingest;
before(async () => {
  k = await startKinesalite();
  await createStream(k.client, STREAM, SHARDS);
  proxy = await startFaultProxy(k.endpoint, {}, 13);
  ingest = await startIngest({
    kinesisEndpoint: proxy.endpoint,
    stream: STREAM,
    region: 'us-east-1',
    credentials: TEST_CREDENTIALS,
    devices: DEVICES,
    // Short enough that the fault test sees readings sent again as new messages, soon.
    vars: { RETRY_DELAY_SECONDS: '1', DELIVERY_DEADLINE_MS: '1500', DEVICE_CACHE_MS: String(CACHE_MS) },
  });
});
after(async () => {
  await ingest?.stop();
  await proxy?.close();
  await k?.close();
});

const now = () => Math.floor(Date.now() / 1000);
const secretOf = (device) => DEVICES[device].secret ?? DEVICES[device].secrets[0];

/** Sign every request `{ device, secret?, id, timestamp, body }` with Python's standardwebhooks. */
function pythonSign(requests) {
  const input = JSON.stringify(requests.map((r) => ({ secret: r.secret ?? secretOf(r.device), id: r.id, timestamp: r.timestamp, body: r.body })));
  return JSON.parse(execFileSync('python3', [new URL('./sign-requests.py', import.meta.url).pathname], { input, maxBuffer: 64 << 20 }));
}

async function post(body, headers, contentType = 'application/json') {
  const res = await fetch(`${ingest.url}/ingest`, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body });
  const answer = { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
  assert.ok(!SECRETS.some((s) => JSON.stringify(answer.body).includes(s)), 'no secret in an answer');
  return answer;
}

const webhookHeaders = (r, signature) => ({
  'x-device-id': r.device,
  'webhook-id': r.id,
  'webhook-timestamp': String(r.timestamp),
  'webhook-signature': signature,
});

/** Every user record in the stream, decoded, with the Kinesis record that carried it. */
async function streamReadings() {
  const out = [];
  for (const r of await readStream(k.client, STREAM)) {
    const kinesisBytes = r.Data.length + Buffer.byteLength(r.PartitionKey);
    for (const u of userRecords(r.Data, r.PartitionKey)) out.push({ ...JSON.parse(u.data.toString('utf8')), partitionKey: u.partitionKey, carrier: r.SequenceNumber, kinesisBytes });
  }
  return out;
}

/** Wait until `done(readings)` holds for the stream's readings (the consumer runs on its own time). */
async function waitFor(done, ms = 60_000) {
  const until = Date.now() + ms;
  for (;;) {
    const readings = await streamReadings();
    const dead = await ingest.deadLetters();
    if (done(readings, dead) || Date.now() > until) return { readings, dead };
    await new Promise((r) => setTimeout(r, 500));
  }
}

const readingKey = (r) => `${r.webhookId}#${r.seq}`;

test('10,000 single-reading requests from 200 devices, signed by Python standardwebhooks: every reading in the stream once, at a few PUT payload units per 1,000', async () => {
  const requests = [];
  const t = now();
  for (let n = 0; n < PER_DEVICE; n++) {
    for (let d = 0; d < FLEET; d++) {
      const i = n * FLEET + d;
      requests.push({ device: fleetId(d), id: `msg_fleet${i}`, timestamp: t, body: JSON.stringify({ temperature: 10 + (i % 300) / 10, ts: 1_764_000_000_000 + i }) });
    }
  }
  const signatures = pythonSign(requests);
  const calls0 = proxy.counts.putRecords;
  let next = 0;
  const statuses = new Map();
  await Promise.all(
    Array.from({ length: 24 }, async () => {
      while (next < requests.length) {
        const i = next++;
        const r = await post(requests[i].body, webhookHeaders(requests[i], signatures[i]));
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
    }),
  );
  assert.deepEqual([...statuses], [[202, requests.length]], 'every request accepted');

  const fleet = (readings) => readings.filter((r) => r.webhookId.startsWith('msg_fleet'));
  const { readings } = await waitFor((rs) => fleet(rs).length >= requests.length, 120_000);
  const got = fleet(readings);
  assert.equal(got.length, requests.length, 'every reading arrived, none twice');
  const byId = new Map(requests.map((r) => [r.id, r]));
  const seen = new Set();
  for (const r of got) {
    const sent = byId.get(r.webhookId);
    assert.ok(sent && r.seq === 0 && !seen.has(readingKey(r)), `unexpected or repeated reading ${readingKey(r)}`);
    seen.add(readingKey(r));
    assert.equal(r.deviceId, sent.device);
    assert.equal(r.partitionKey, sent.device, 'the device id is the partition key');
    assert.deepEqual({ temperature: r.temperature, ts: r.ts }, JSON.parse(sent.body));
  }
  // Cost: PUT payload units are billed per Kinesis record, each rounded up to 25 KB.
  const carriers = new Map(got.map((r) => [r.carrier, r.kinesisBytes]));
  const units = [...carriers.values()].reduce((n, bytes) => n + Math.ceil(bytes / PUT_PAYLOAD_UNIT), 0);
  const calls = proxy.counts.putRecords - calls0;
  const per1000 = (n) => ((n * 1000) / requests.length).toFixed(1);
  console.log(`# ${requests.length} readings in ${requests.length} requests, ${SHARDS} shards, queue batches of up to 100:`);
  console.log(`#   queue fan-in:        ${calls} PutRecords calls, ${carriers.size} Kinesis records, ${units} PUT payload units (${per1000(units)} per 1,000 readings)`);
  console.log(`#   per-request design:  ${requests.length} PutRecords calls, ${requests.length} Kinesis records, ${requests.length} PUT payload units (1000.0 per 1,000): one call and one unit per request`);
  assert.ok((units * 1000) / requests.length <= 50, `at most 50 PUT payload units per 1,000 readings on ${SHARDS} shards (got ${per1000(units)})`);
  assert.ok(!SECRETS.some((s) => ingest.log().includes(s)) && !ingest.log().includes(TEST_CREDENTIALS.secretAccessKey), 'no secret in the log');
});

test('replays, stale and future timestamps, rotated-out secrets, unknown and disabled devices, altered bodies and floods get their status, and none of them reaches Kinesis', async () => {
  const t = now();
  const accepted = new Set(); // webhook-ids
  const refused = new Set();
  const reading = (i) => JSON.stringify({ temperature: 20, ts: 1_765_000_000_000 + i });
  let n = 0;
  const req = (device, extra = {}) => ({ device, id: `msg_check${n++}`, timestamp: t, body: reading(n), ...extra });
  const send = async (r, signature, expected, reason) => {
    const answer = await post(r.body, webhookHeaders(r, signature));
    assert.equal(answer.status, expected, `${r.id}: ${JSON.stringify(answer.body)}`);
    if (reason) assert.match(answer.body.error, reason);
    (expected === 202 ? accepted : refused).add(r.id);
    return answer;
  };

  const fresh = req('fleet-000');
  const nearlyStale = req('fleet-001', { timestamp: t - 292 });
  const rotatedNew = req('rotating-1', { secret: DEVICES['rotating-1'].secrets[0] });
  const rotatedOld = req('rotating-1', { secret: DEVICES['rotating-1'].secrets[1] });
  const rotatedOut = req('rotating-1', { secret: OLD_SECRET });
  const stale = req('fleet-002', { timestamp: t - 330 });
  const future = req('fleet-002', { timestamp: t + 330 });
  const unknown = req('nobody-1', { secret: newSecret() });
  const disabled = req('disabled-1');
  const altered = req('fleet-003');
  const broken = req('broken-1');
  const floods = Array.from({ length: RATE_LIMIT + 5 }, (_, i) => req('flood-1', { body: JSON.stringify({ kwh: i }) }));
  const all = [fresh, nearlyStale, rotatedNew, rotatedOld, rotatedOut, stale, future, unknown, disabled, altered, broken, ...floods];
  const sig = new Map(pythonSign(all).map((s, i) => [all[i], s]));

  await send(fresh, sig.get(fresh), 202);
  await send(fresh, sig.get(fresh), 409, /already received/); // the same request again, within the window
  await send({ ...fresh, body: reading(999) }, sig.get(fresh), 401, /unauthenticated/); // altered, same id
  await send(nearlyStale, sig.get(nearlyStale), 202);
  await send(rotatedNew, sig.get(rotatedNew), 202); // both secrets of a rotation verify
  await send(rotatedOld, sig.get(rotatedOld), 202);
  await send(rotatedOut, sig.get(rotatedOut), 401, /unauthenticated/);
  // Several signatures in one header (a device mid-rotation): one valid is enough.
  const multi = req('rotating-1');
  const [multiSig] = pythonSign([multi]);
  await send(multi, `v1,${Buffer.alloc(32).toString('base64')} ${multiSig}`, 202);
  await send(stale, sig.get(stale), 401, /within 300 s/);
  await send(future, sig.get(future), 401, /within 300 s/);
  await send(unknown, sig.get(unknown), 401, /unauthenticated/);
  // An id no KV key could be (over 512 bytes) or no log line should carry: refused before any lookup.
  await send({ ...unknown, device: 'x'.repeat(600) }, sig.get(unknown), 401, /unauthenticated/);
  await send({ ...unknown, device: 'thermo 1/../x' }, sig.get(unknown), 401, /unauthenticated/);
  await send(disabled, sig.get(disabled), 403, /disabled/);
  await send({ ...altered, body: reading(12345) }, sig.get(altered), 401, /unauthenticated/);
  await send(broken, sig.get(broken), 500, /not configured/);
  // Miniflare's limiter counts in fixed windows aligned to the period: flood early in one.
  const intoWindow = Date.now() % (RATE_PERIOD * 1000);
  if (intoWindow > RATE_PERIOD * 1000 - 15_000) await new Promise((r) => setTimeout(r, RATE_PERIOD * 1000 - intoWindow + 100));
  for (const [i, r] of floods.entries()) {
    const answer = await send(r, sig.get(r), i < RATE_LIMIT ? 202 : 429);
    if (i >= RATE_LIMIT) assert.equal(answer.retryAfter, RATE_PERIOD, 'Retry-After is the binding\'s period');
  }
  // A replay is refused before the rate limit (a captured request cannot spend the quota), and a
  // request refused at the limit is released: sent again, it meets the limit, not the guard.
  await send(floods[0], sig.get(floods[0]), 409, /already received/);
  await send(floods[RATE_LIMIT], sig.get(floods[RATE_LIMIT]), 429);
  // Two copies of one request at once: one is taken; the other is a replay (409) or, while the
  // first is on its way, asked to send again (503), after which it is a replay.
  const twice = req('fleet-004');
  const [twiceSig] = pythonSign([twice]);
  const answers = await Promise.all([post(twice.body, webhookHeaders(twice, twiceSig)), post(twice.body, webhookHeaders(twice, twiceSig))]);
  const statuses = answers.map((a) => a.status).sort();
  assert.ok(statuses[0] === 202 && [409, 503].includes(statuses[1]), `got ${statuses}`);
  accepted.add(twice.id);
  if (statuses[1] === 503) await send(twice, twiceSig, 409, /already received/);
  // The same request after its window: its timestamp is now stale, so it is refused as such.
  await new Promise((r) => setTimeout(r, Math.max(0, nearlyStale.timestamp + 301 - Date.now() / 1000) * 1000));
  await send(nearlyStale, sig.get(nearlyStale), 401, /within 300 s/);

  // Bearer tokens (replayable by whoever holds one) and other refusals the signature cannot cause.
  const bearer = async (body, token, expected, contentType) => {
    const answer = await post(body, { 'x-device-id': 'tracker-1', authorization: `Bearer ${token}` }, contentType);
    assert.equal(answer.status, expected, JSON.stringify(answer.body));
    return answer;
  };
  const tracked = await bearer('{"lat":52.5,"lon":13.4}\n{"lat":52.6,"lon":13.5}\n', DEVICES['tracker-1'].token, 202, 'application/x-ndjson');
  assert.equal(tracked.body.accepted, 2);
  accepted.add(tracked.body.webhookId);
  await bearer('{"lat":1,"lon":1}', 'guessed-token', 401);
  assert.match((await bearer('{"lat":91,"lon":0}', DEVICES['tracker-1'].token, 400)).body.error, /"lat" must be a number from -90 to 90/);
  const big = req('fleet-004', { body: JSON.stringify(Array.from({ length: 1000 }, (_, i) => ({ temperature: 20.25, humidity: 50.5, battery: 90.75, ts: 1_766_000_000_000 + i }))) });
  assert.ok(big.body.length > 65_536);
  await send(big, pythonSign([big])[0], 413, /larger than 65536 bytes/);
  const invalid = req('fleet-004', { body: '{"temperature": "hot"}' });
  await send(invalid, pythonSign([invalid])[0], 400, /"temperature" must be a number/);
  assert.equal((await fetch(`${ingest.url}/ingest`)).status, 405);

  // A registry entry that is not JSON: refused like an unknown device, logged by id, never quoted.
  const garbled = req('garbled-1', { secret: newSecret() });
  await ingest.registry.put('garbled-1', `{"secrets": ["${garbled.secret}"`);
  await send(garbled, pythonSign([garbled])[0], 401, /unauthenticated/);
  assert.match(ingest.log(), /registry entry of garbled-1 is malformed/);
  assert.ok(!ingest.log().includes(garbled.secret), 'the entry is not quoted');

  // Misses are cached too: a device added to KV is unknown until the cached miss expires.
  const late = req('late-1', { secret: newSecret() });
  const [lateSig] = pythonSign([late]);
  await send(late, lateSig, 401);
  await ingest.registry.put('late-1', JSON.stringify({ secrets: [late.secret], schema: 'thermometer' }));
  await send({ ...late, id: `${late.id}b` }, pythonSign([{ ...late, id: `${late.id}b` }])[0], 401);
  await new Promise((r) => setTimeout(r, CACHE_MS + 100));
  await send({ ...late, id: `${late.id}c` }, pythonSign([{ ...late, id: `${late.id}c` }])[0], 202);

  const ids = (rs) => new Set(rs.filter((r) => r.webhookId.startsWith('msg_check') || r.webhookId.startsWith('req_')).map((r) => r.webhookId));
  const { readings } = await waitFor((rs) => ids(rs).size >= accepted.size);
  const stored = readings.filter((r) => accepted.has(r.webhookId) || refused.has(r.webhookId));
  assert.deepEqual([...ids(stored)].sort(), [...accepted].sort(), 'exactly the accepted requests reached Kinesis');
  assert.equal(stored.length, accepted.size + 1, 'each of their readings once (the bearer request had two)');
  assert.equal(stored.filter((r) => r.deviceId === 'flood-1').length, RATE_LIMIT, 'nothing over the rate limit');
});

test('under per-record failures, throttling and refusals from Kinesis, every reading is stored once or dead-lettered with its code', async () => {
  // First Kinesis throttles everything, until readings outlive the consumer's delivery deadline
  // and are sent again as new, delayed messages; then it fails some entries and requests, and
  // refuses some requests for good.
  proxy.set({ requestErrors: 1 });
  const mixed = { failEntries: 0.4, requestErrors: 0.15, every: { requestErrors: 2, refuseRequests: 5, failEntries: 7 } };
  const t = now();
  const requests = Array.from({ length: 200 }, (_, i) => ({
    device: fleetId(100 + (i % 100)),
    id: `msg_fault${i}`,
    timestamp: t,
    body: JSON.stringify(Array.from({ length: 10 }, (_, j) => ({ temperature: 30, ts: 1_767_000_000_000 + i * 10 + j }))),
  }));
  const signatures = pythonSign(requests);
  const failures0 = { ...proxy.counts };
  // In four waves a few seconds apart: several queue batches, so several rounds of faults.
  for (const [i, r] of requests.entries()) {
    if (i === 50) {
      for (let wait = 0; wait < 600 && !/"resent":[1-9]/.test(ingest.log()); wait++) await new Promise((resolve) => setTimeout(resolve, 100));
      proxy.set(mixed);
    } else if (i % 50 === 0 && i > 0) await new Promise((resolve) => setTimeout(resolve, 6_000));
    assert.equal((await post(r.body, webhookHeaders(r, signatures[i]))).status, 202);
  }
  const total = requests.length * 10;
  const mine = (rs) => rs.filter((r) => r.webhookId.startsWith('msg_fault'));
  const deadMine = (ds) => ds.filter((d) => d.webhookId?.startsWith('msg_fault'));
  const { readings, dead } = await waitFor((rs, ds) => mine(rs).length + deadMine(ds).length >= total, 120_000);
  proxy.set({});

  const stored = mine(readings);
  const letters = deadMine(dead);
  const keys = [...stored.map(readingKey), ...letters.map(readingKey)];
  assert.equal(new Set(keys).size, keys.length, 'no reading stored twice, or both stored and dead-lettered');
  assert.equal(keys.length, total, 'every reading stored or dead-lettered');
  const faults = Object.fromEntries(Object.entries(proxy.counts).map(([name, n]) => [name, n - failures0[name]]));
  console.log(`# faults: ${JSON.stringify(faults)}; ${stored.length} readings stored, ${letters.length} dead-lettered`);
  assert.ok(faults.failedEntries > 0 && faults.requestErrors > 0, 'per-record failures and throttling happened');
  assert.ok(faults.refusedRequests > 0 && letters.length > 0, 'some requests were refused for good');
  // The dead-letter queue holds exactly the readings Kinesis refused for good, each with its code.
  const refused = new Set(proxy.refused.map((b) => readingKey(JSON.parse(Buffer.from(b, 'base64').toString('utf8')))).filter((key) => key.startsWith('msg_fault')));
  assert.deepEqual(new Set(letters.map(readingKey)), refused);
  for (const d of letters) {
    assert.equal(d.code, 'Kms');
    assert.equal(d.reason, 'refused');
    assert.ok(d.deviceId && typeof d.reading.temperature === 'number');
  }
  assert.match(ingest.log(), /"resent":[1-9]/, 'readings that kept failing retryably were sent again as new messages');
});
