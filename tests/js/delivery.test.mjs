// The delivery engine through the package: request timeouts, clock skew, credentials refused
// as expired, and the time to live, driven by a scripted `fetch`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KinesisProducer, isKinesisEdgeError } from 'kinesis-edge';

const CREDS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };
// The scripted services below answer PutRecords only: the stream's settings are given.
const base = { region: 'us-east-1', streamName: 's', endpoint: 'http://127.0.0.1:9', lingerMs: 0, streamSettings: {} };

/** A fetch that answers call n with `script(n, request)`; records every request. */
function scripted(script) {
  const requests = [];
  const fetch = (url, init) => {
    const request = { url, init, body: JSON.parse(Buffer.from(init.body).toString()) };
    requests.push(request);
    return script(requests.length, request);
  };
  return { fetch, requests };
}

const ok = (request, headers = {}) =>
  new Response(
    JSON.stringify({ Records: request.body.Records.map((_, i) => ({ SequenceNumber: `${i + 1}`, ShardId: 'shardId-0' })) }),
    { status: 200, headers },
  );

test('an answer that never comes is aborted after requestTimeoutMs and the records are sent again', async () => {
  let aborted = 0;
  const { fetch, requests } = scripted((n, request) => {
    if (n > 1) return Promise.resolve(ok(request));
    // Hangs until the producer aborts it through the signal it passed.
    return new Promise((_, reject) => {
      request.init.signal.addEventListener('abort', () => {
        aborted += 1;
        reject(new DOMException('aborted', 'AbortError'));
      });
    });
  });
  const producer = new KinesisProducer({ ...base, fetch, credentials: CREDS, requestTimeoutMs: 100 });
  const result = await producer.put({ data: 'late', partitionKey: 'k' });
  assert.equal(result.sequenceNumber, '1');
  assert.equal(aborted, 1);
  assert.equal(requests.length, 2);
  assert.equal(producer.stats().retries, 1);
});

test('a fetch that ignores the abort signal still times out', async () => {
  const { fetch } = scripted(() => new Promise(() => {}));
  const producer = new KinesisProducer({ ...base, fetch, credentials: CREDS, requestTimeoutMs: 50, recordTtlMs: 400 });
  await assert.rejects(producer.put({ data: 'x', partitionKey: 'k' }), (e) => {
    assert.ok(isKinesisEdgeError(e));
    assert.equal(e.code, 'Expired');
    assert.equal(e.lastCode, 'Timeout');
    return true;
  });
});

test('a skewed clock is corrected from the answer and the request signed again', async () => {
  const serverAhead = 17 * 60_000;
  const { fetch, requests } = scripted((n, request) => {
    const date = new Date(Date.now() + serverAhead).toUTCString();
    if (n === 1) {
      return Promise.resolve(
        new Response(
          JSON.stringify({ __type: 'InvalidSignatureException', message: 'Signature expired: 20260101T000000Z is now earlier than 20260101T001700Z' }),
          { status: 400, headers: { date } },
        ),
      );
    }
    return Promise.resolve(ok(request, { date }));
  });
  const producer = new KinesisProducer({ ...base, fetch, credentials: CREDS });
  assert.equal((await producer.put({ data: 'x', partitionKey: 'k' })).sequenceNumber, '1');
  const signedAt = (r) => {
    const d = r.init.headers['x-amz-date'];
    return Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8), +d.slice(9, 11), +d.slice(11, 13), +d.slice(13, 15));
  };
  const shift = signedAt(requests[1]) - signedAt(requests[0]);
  assert.ok(Math.abs(shift - serverAhead) < 10_000, `signed ${shift} ms later, expected about ${serverAhead}`);
  assert.ok(Math.abs(producer.stats().clockOffsetMs - serverAhead) < 10_000);
});

test('credentials refused as expired are fetched again and the record signed with the new ones', async () => {
  let calls = 0;
  const provider = async () => {
    calls += 1;
    return { ...CREDS, sessionToken: `token-${calls}`, expiration: Date.now() + 3_600_000 };
  };
  const { fetch, requests } = scripted((n, request) =>
    Promise.resolve(
      request.init.headers['x-amz-security-token'] === 'token-1'
        ? new Response(JSON.stringify({ __type: 'ExpiredTokenException', message: 'The security token included in the request is expired' }), { status: 400 })
        : ok(request),
    ),
  );
  const producer = new KinesisProducer({ ...base, fetch, credentials: provider });
  const result = await producer.put({ data: 'x', partitionKey: 'k' });
  assert.equal(result.sequenceNumber, '1');
  assert.equal(calls, 2);
  assert.deepEqual(
    requests.map((r) => r.init.headers['x-amz-security-token']),
    ['token-1', 'token-2'],
  );
});

test('a throttled stream is retried until it recovers, and throttles are counted', async () => {
  const { fetch } = scripted((n, request) => {
    if (n <= 2) return Promise.resolve(new Response(JSON.stringify({ __type: 'ProvisionedThroughputExceededException', message: 'Rate exceeded' }), { status: 400 }));
    return Promise.resolve(ok(request));
  });
  const producer = new KinesisProducer({ ...base, fetch, credentials: CREDS });
  const result = await producer.put({ data: 'x', partitionKey: 'k' });
  assert.equal(result.sequenceNumber, '1');
  const s = producer.stats();
  assert.equal(s.throttles, 2);
  assert.equal(s.retries, 2);
  assert.equal(s.recordsAcknowledged, 1);
  assert.deepEqual(s.failuresByCode, { Throttled: 2 });
  assert.equal(typeof s.latencyP50Ms, 'number');
  assert.ok(s.latencyP99Ms >= s.latencyP50Ms);
  assert.equal(s.currentBackoffMs, 0);
});

test("a full buffer makes put wait for room, in order, or reject at once with onBufferFull: 'reject'", async () => {
  let release;
  let gate = new Promise((r) => (release = r));
  const { fetch, requests } = scripted(async (n, request) => {
    await gate;
    return ok(request);
  });
  const producer = new KinesisProducer({ ...base, fetch, credentials: CREDS, maxBufferedRecords: 50, maxRecordsPerRequest: 10 });
  const puts = Array.from({ length: 120 }, (_, i) => producer.put({ data: `${i}`, partitionKey: 'k' }));
  await new Promise((r) => setTimeout(r, 50));
  const held = producer.stats();
  assert.equal(held.bufferedRecords + held.inFlightRecords, 50);
  assert.equal(held.waitingRecords, 70);
  release();
  gate = Promise.resolve();
  const results = await Promise.all(puts);
  assert.equal(results.length, 120);
  const sent = requests.flatMap((r) => r.body.Records.map((rec) => Number(Buffer.from(rec.Data, 'base64').toString())));
  assert.deepEqual(sent, Array.from({ length: 120 }, (_, i) => i), 'sent once each, in put order');
  await producer.close();

  const rejecting = new KinesisProducer({ ...base, fetch: () => new Promise(() => {}), credentials: CREDS, maxBufferedRecords: 5, onBufferFull: 'reject', recordTtlMs: 200, requestTimeoutMs: 50 });
  const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => rejecting.put({ data: `${i}`, partitionKey: 'k' })));
  const codes = outcomes.map((o) => o.reason?.code);
  assert.deepEqual(codes.slice(5), ['BufferFull', 'BufferFull', 'BufferFull']);
  assert.throws(() => new KinesisProducer({ ...base, credentials: CREDS, onBufferFull: 'drop' }), (e) => e.code === 'InvalidOption' && e.field === 'onBufferFull');
});

test('close() takes waiting records before refusing new ones', async () => {
  const { fetch } = scripted((n, request) => new Promise((r) => setTimeout(() => r(ok(request)), 20)));
  const producer = new KinesisProducer({ ...base, fetch, credentials: CREDS, maxBufferedRecords: 3 });
  const puts = Array.from({ length: 10 }, (_, i) => producer.put({ data: `${i}`, partitionKey: 'k' }));
  await producer.close();
  assert.equal((await Promise.allSettled(puts)).filter((o) => o.status === 'fulfilled').length, 10);
  await assert.rejects(producer.put({ data: 'late', partitionKey: 'k' }), (e) => e.code === 'Closed');
});

test('close() settles what is left as Closed when its deadline passes', async () => {
  const { fetch } = scripted(() => new Promise(() => {}));
  const producer = new KinesisProducer({ ...base, fetch, credentials: CREDS, maxBufferedRecords: 4, maxRecordsPerRequest: 2, maxInFlightRequests: 1, requestTimeoutMs: 600_000, recordTtlMs: Infinity });
  const puts = Array.from({ length: 8 }, (_, i) => producer.put({ data: `${i}`, partitionKey: 'k' }));
  await producer.close({ timeoutMs: 200 });
  const outcomes = await Promise.allSettled(puts);
  assert.deepEqual(outcomes.map((o) => o.reason?.code), Array(8).fill('Closed'), 'in flight, buffered and waiting all settle');
  const s = producer.stats();
  assert.equal(s.bufferedRecords + s.inFlightRecords + s.waitingRecords, 0);
  assert.throws(() => new KinesisProducer({ ...base, credentials: CREDS, closeTimeoutMs: 'soon' }), (e) => e.field === 'closeTimeoutMs');
});

/** `promise`'s outcome, or 'pending' if it has not settled within `ms`. */
const within = (promise, ms) =>
  Promise.race([
    promise.then((value) => ({ value }), (error) => ({ error })),
    new Promise((resolve) => setTimeout(resolve, ms, 'pending')),
  ]);

test('records that expire while a full buffer refuses a new one make room for it (no wedge)', async () => {
  const { fetch } = scripted(() => new Promise(() => {}));
  const producer = new KinesisProducer({ ...base, fetch, credentials: CREDS, lingerMs: 10_000, maxBufferedRecords: 2, recordTtlMs: 100 });
  const early = [producer.put({ data: 'a', partitionKey: 'k' }), producer.put({ data: 'b', partitionKey: 'k' })];
  await new Promise((r) => setTimeout(r, 0));
  // The page is busy past the records' time to live, so no timer expired them before put(c).
  for (const until = Date.now() + 150; Date.now() < until; );
  const late = producer.put({ data: 'c', partitionKey: 'k' });
  for (const p of early) assert.equal((await within(p, 1_000)).error?.code, 'Expired');
  assert.equal((await within(late, 1_000)).error?.code, 'Expired', 'c was taken once there was room, then expired');
  assert.equal(producer.stats().waitingRecords, 0);
  await producer.close({ timeoutMs: 100 });
});

test('a credentials provider that never answers fails the attempt after requestTimeoutMs, not forever', async () => {
  const { fetch, requests } = scripted((_, request) => Promise.resolve(ok(request)));
  let calls = 0;
  const credentials = () => (++calls, new Promise(() => {}));
  const producer = new KinesisProducer({ ...base, fetch, credentials, requestTimeoutMs: 100, recordTtlMs: 500 });
  const outcome = await within(producer.put({ data: 'x', partitionKey: 'k' }), 3_000);
  // Settled at its time to live with the reason it could not be sent.
  assert.equal(outcome.error?.code, 'Credentials');
  assert.match(outcome.error.message, /did not answer within 100 ms/);
  assert.ok(calls >= 2, `the provider was asked again after each timeout (${calls} calls)`);
  assert.equal(requests.length, 0);
  assert.notEqual(await within(producer.close({ timeoutMs: 100 }), 1_000), 'pending');
});

test('after a close() deadline nothing more is sent, even a request whose credentials were still coming', async () => {
  const { fetch, requests } = scripted((_, request) => Promise.resolve(ok(request)));
  const credentials = () => new Promise((resolve) => setTimeout(resolve, 300, CREDS));
  const producer = new KinesisProducer({ ...base, fetch, credentials });
  const put = producer.put({ data: 'x', partitionKey: 'k' });
  await new Promise((r) => setTimeout(r, 20));
  assert.notEqual(await within(producer.close({ timeoutMs: 50 }), 1_000), 'pending', 'close() keeps its deadline');
  assert.equal((await within(put, 100)).error?.code, 'Closed');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(requests.length, 0, 'the record told Closed never reached Kinesis');
});

test('putMany calls failed together each get their own error and results', async () => {
  const { fetch } = scripted(() => new Promise(() => {}));
  // A full buffer: both calls wait in it, and fail together at the close() deadline.
  const producer = new KinesisProducer({ ...base, fetch, credentials: CREDS, lingerMs: 10_000, maxBufferedRecords: 1 });
  const first = producer.put({ data: '0', partitionKey: 'k' });
  const a = producer.putMany([{ data: '1', partitionKey: 'k' }, { data: '2', partitionKey: 'k' }]);
  const b = producer.putMany([{ data: '3', partitionKey: 'k' }]);
  await producer.close({ timeoutMs: 50 });
  const [ea, eb] = [(await within(a, 100)).error, (await within(b, 100)).error];
  assert.notEqual(ea, eb);
  assert.equal(ea.code, 'Closed');
  assert.ok(isKinesisEdgeError(ea));
  assert.equal(ea.results.length, 2);
  assert.equal(eb.results.length, 1);
  assert.equal((await within(first, 100)).error?.code, 'Closed');
});
