// The example ingest worker in real workerd, forwarding to kinesalite: simulated devices post
// readings signed correctly, with the wrong secret, unsigned, oversized and malformed; an
// independent reader (the AWS SDK) then finds exactly the authenticated readings, each once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startKinesalite, createStream, readStream, userRecords, TEST_CREDENTIALS } from './support.mjs';
import { startWorker } from './workerd.mjs';

const DEVICES = {
  'thermo-1': { secret: 'thermo-1-hmac-key', schema: 'thermometer' },
  'thermo-2': { secret: 'thermo-2-hmac-key', schema: 'thermometer' },
  'tracker-1': { token: 'tracker-1-bearer-token', schema: 'tracker' },
  'meter-1': { secret: 'meter-1-hmac-key', token: 'meter-1-bearer-token', schema: 'meter' },
  'broken-1': { secret: 'broken-key', schema: 'no-such-schema' },
};
const SECRETS = Object.values(DEVICES).flatMap((d) => [d.secret, d.token].filter(Boolean));
const MAX_BODY_BYTES = 16_384;

let k;
let worker;
before(async () => {
  k = await startKinesalite();
  await createStream(k.client, 'ingest', 2);
  worker = await startWorker({
    AWS_REGION: 'us-east-1',
    STREAM_NAME: 'ingest',
    KINESIS_ENDPOINT: k.endpoint,
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    DEVICES: JSON.stringify(DEVICES),
    MAX_BODY_BYTES: String(MAX_BODY_BYTES),
    FLUSH_DEADLINE_MS: '10000',
    AGGREGATION: 'on',
  });
});
after(async () => {
  await worker?.stop();
  await k?.close();
});

const sign = (secret, body) => 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');

/** POST `body` to /ingest as `device` with `auth`: 'hmac', 'bearer', a wrong secret, or none. */
async function post(body, { device, auth = 'hmac', contentType = 'application/json', secret } = {}) {
  const headers = { 'content-type': contentType };
  if (auth === 'hmac') {
    headers['x-device-id'] = device;
    headers['x-signature'] = sign(secret ?? DEVICES[device].secret, body);
  } else if (auth === 'bearer' || auth === 'lowercase bearer') {
    // The scheme name is case-insensitive (RFC 9110).
    headers.authorization = `${auth === 'bearer' ? 'Bearer' : 'bearer'} ${secret ?? DEVICES[device].token}`;
  }
  const res = await fetch(`${worker.url}/ingest`, { method: 'POST', headers, body });
  return { status: res.status, body: await res.json() };
}

const thermo = (i) => ({ temperature: 18 + (i % 80) / 10, humidity: 40 + (i % 30), battery: 90, ts: 1_764_000_000_000 + i });

test('the worker forwards exactly the authenticated readings, each once, and refuses the rest with reasons', async () => {
  const expected = []; // [deviceId, reading]
  const accept = async (readings, device, options) => {
    const body = options?.ndjson ? readings.map((r) => JSON.stringify(r)).join('\n') + '\n' : JSON.stringify(options?.single ? readings[0] : readings);
    const r = await post(body, { device, contentType: options?.ndjson ? 'application/x-ndjson' : 'application/json', ...options });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.accepted, readings.length);
    for (const reading of readings) expected.push([device, reading]);
  };

  // Accepted: one reading, a JSON array of 100, newline-delimited JSON, bearer tokens.
  await accept([thermo(0)], 'thermo-1', { single: true });
  await accept(Array.from({ length: 100 }, (_, i) => thermo(i + 1)), 'thermo-2');
  await accept([{ lat: 52.52, lon: 13.405, speed: 3 }, { lat: 52.53, lon: 13.41 }, { lat: 52.54, lon: 13.42, battery: 77 }], 'tracker-1', {
    auth: 'bearer',
    ndjson: true,
  });
  await accept([{ kwh: 1234.5, phase: 'L2' }], 'meter-1', { auth: 'bearer' });
  await accept([{ kwh: 1235 }], 'meter-1');
  await accept([{ kwh: 1236 }], 'meter-1', { auth: 'lowercase bearer' });

  // Refused, and never forwarded.
  const refused = [
    [await post(JSON.stringify(thermo(900)), { device: 'thermo-1', secret: 'not-the-key' }), 401, /unauthenticated/],
    [await post(JSON.stringify(thermo(901)), { device: 'thermo-1', auth: 'none' }), 401, /unauthenticated/],
    [await post(JSON.stringify(thermo(902)), { device: 'nobody', secret: 'x' }), 401, /unauthenticated/],
    [await post(JSON.stringify({ lat: 1, lon: 1 }), { device: 'tracker-1', auth: 'bearer', secret: 'guessed-token' }), 401, /unauthenticated/],
    // A body signed for another one: the signature covers the bytes.
    [
      await (async () => {
        const res = await fetch(`${worker.url}/ingest`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-device-id': 'thermo-1', 'x-signature': sign(DEVICES['thermo-1'].secret, '{"temperature":1}') },
          body: JSON.stringify(thermo(903)),
        });
        return { status: res.status, body: await res.json() };
      })(),
      401,
      /unauthenticated/,
    ],
    [await post(JSON.stringify(Array.from({ length: 400 }, (_, i) => thermo(1000 + i))), { device: 'thermo-1' }), 413, /larger than 16384 bytes/],
    [await post('{"temperature": 21.5,', { device: 'thermo-1' }), 400, /body is not valid JSON/],
    [await post(JSON.stringify([thermo(1), { temperature: 'hot' }]), { device: 'thermo-2' }), 400, /reading 1: "temperature" must be a number from -60 to 150/],
    [await post(JSON.stringify({ temperature: 20, colour: 'red' }), { device: 'thermo-2' }), 400, /unknown field "colour"/],
    [await post(JSON.stringify({ lat: 91, lon: 0 }), { device: 'tracker-1', auth: 'bearer' }), 400, /"lat" must be a number from -90 to 90/],
    [await post('{"lat":1,"lon":2}\nnot json\n', { device: 'tracker-1', auth: 'bearer', contentType: 'application/x-ndjson' }), 400, /line 2 is not valid JSON/],
    [await post(JSON.stringify({ kwh: 1, phase: 'L4' }), { device: 'meter-1' }), 400, /"phase" must be one of L1, L2, L3/],
    [await post('[]', { device: 'thermo-1' }), 400, /no readings/],
    [await post(JSON.stringify(thermo(5)), { device: 'broken-1' }), 500, /not configured/],
  ];
  for (const [r, status, reason] of refused) {
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.match(r.body.error, reason);
    assert.ok(!SECRETS.some((secret) => JSON.stringify(r.body).includes(secret)), 'no secret in an answer');
  }
  const other = await fetch(`${worker.url}/ingest`);
  assert.equal(other.status, 405);

  // Delivery runs after the answers, under ctx.waitUntil: wait for it to reach the stream.
  let got = [];
  for (let i = 0; i < 200 && got.length < expected.length; i++) {
    await new Promise((r) => setTimeout(r, 50));
    got = (await readStream(k.client, 'ingest')).flatMap((r) =>
      userRecords(r.Data, r.PartitionKey).map((u) => ({ partitionKey: u.partitionKey, ...JSON.parse(u.data.toString('utf8')) })),
    );
  }
  assert.equal(got.length, expected.length, 'exactly the accepted readings arrived');
  const key = (device, reading) => JSON.stringify([device, reading]);
  const want = new Map(expected.map(([d, r]) => [key(d, r), 0]));
  for (const { deviceId, receivedAt, partitionKey, ...reading } of got) {
    assert.equal(partitionKey, deviceId, 'the device id is the partition key');
    assert.ok(Number.isInteger(receivedAt) && Math.abs(receivedAt - Date.now()) < 60_000, 'stamped with the receive time');
    const k2 = key(deviceId, reading);
    assert.ok(want.has(k2), `unexpected reading in the stream: ${k2}`);
    want.set(k2, want.get(k2) + 1);
  }
  assert.deepEqual([...want.values()].filter((n) => n !== 1), [], 'each accepted reading exactly once');
  assert.ok(![...SECRETS, TEST_CREDENTIALS.secretAccessKey].some((secret) => worker.log().includes(secret)), 'no secret in the log');
});
