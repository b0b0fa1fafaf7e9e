// The package's API in Node: typed errors, results, flush/close, credentials providers,
// signRequest, and hostile answers from the service (through the `fetch` option).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { KinesisProducer, signRequest, isKinesisEdgeError } from 'kinesis-edge';
import { startKinesalite, createStream, readStream, TEST_CREDENTIALS } from './support.mjs';

let k;
before(async () => {
  k = await startKinesalite();
  await createStream(k.client, 'api', 2);
});
after(async () => {
  await k?.close();
});

const base = () => ({ region: 'us-east-1', streamName: 'api', endpoint: k.endpoint, credentials: TEST_CREDENTIALS });

function assertCode(error, code, field) {
  assert.ok(isKinesisEdgeError(error), `expected a KinesisEdgeError, got ${error}`);
  assert.equal(error.name, 'KinesisEdgeError');
  assert.equal(error.code, code, error.message);
  if (field) assert.equal(error.field, field);
}

test('invalid options throw typed errors that name the field', () => {
  const cases = [
    [{ ...base(), region: undefined }, 'InvalidOption', 'region'],
    [{ ...base(), streamName: undefined }, 'InvalidOption', 'streamName'],
    [{ ...base(), streamName: 'bad name' }, 'InvalidOption', 'streamName'],
    [{ ...base(), lingerMs: 'soon' }, 'InvalidOption', 'lingerMs'],
    [{ ...base(), lingerMs: -1 }, 'InvalidOption', 'lingerMs'],
    [{ ...base(), maxRecordsPerRequest: 501 }, 'InvalidOption', 'maxRecordsPerRequest'],
    [{ ...base(), maxRequestBytes: 10 * 1024 * 1024 + 1 }, 'InvalidOption', 'maxRequestBytes'],
    [{ ...base(), maxRecordBytes: 0 }, 'InvalidOption', 'maxRecordBytes'],
    [{ ...base(), recordTtlMs: 0 }, 'InvalidOption', 'recordTtlMs'],
    [{ ...base(), requestTimeoutMs: -5 }, 'InvalidOption', 'requestTimeoutMs'],
    [{ ...base(), endpoint: '127.0.0.1:4567' }, 'InvalidOption', 'endpoint'],
    [{ ...base(), fetch: 'yes' }, 'InvalidOption', 'fetch'],
    [{ ...base(), streamArn: 'arn:aws:kinesis:eu-west-1:123456789012:stream/api' }, 'InvalidOption', 'streamArn'],
    [{ ...base(), credentials: undefined }, 'Credentials'],
    [{ ...base(), credentials: { accessKeyId: 'a' } }, 'Credentials'],
    [{ ...base(), credentials: { ...TEST_CREDENTIALS, expiration: 'next week' } }, 'Credentials'],
    // Unknown names are refused, not ignored: a typo would otherwise silently keep the default.
    [{ ...base(), lingerMS: 10 }, 'InvalidOption', 'lingerMS'],
    [{ ...base(), aggregation: { maxbytes: 1000 } }, 'InvalidOption', 'aggregation.maxbytes'],
    [{ ...base(), onBufferFull: 'drop' }, 'InvalidOption', 'onBufferFull'],
    [{ ...base(), closeTimeoutMs: -1 }, 'InvalidOption', 'closeTimeoutMs'],
  ];
  for (const [options, code, field] of cases) {
    assert.throws(() => new KinesisProducer(options), (e) => (assertCode(e, code, field), true), JSON.stringify(options));
  }
  assert.throws(() => new KinesisProducer(null), (e) => (assertCode(e, 'InvalidOption', 'options'), true));
  assert.throws(() => new KinesisProducer({ ...base(), lingerMS: 10 }), /did you mean `lingerMs`\?/);
  // Expirations as a Date, epoch milliseconds or ISO text are all taken.
  for (const expiration of [new Date(Date.now() + 3_600_000), Date.now() + 3_600_000, new Date(Date.now() + 3_600_000).toISOString()]) {
    new KinesisProducer({ ...base(), credentials: { ...TEST_CREDENTIALS, expiration } }).close({ timeoutMs: 0 });
  }
});

test('invalid records reject with InvalidRecord and do not disturb accepted ones', async () => {
  const producer = new KinesisProducer({ ...base(), maxRecordBytes: 1000 });
  const good = producer.put({ data: 'first', partitionKey: 'a' });
  const bad = [
    { data: 'x', partitionKey: '' },
    { data: 'x', partitionKey: 'k'.repeat(257) },
    { data: 'x', partitionKey: 42 },
    { data: 'x' },
    { data: 'x', partitionKey: 'k', explicitHashKey: '340282366920938463463374607431768211456' },
    { data: 'x', partitionKey: 'k', explicitHashKey: '01' },
    { data: 'x', partitionKey: 'k', explicitHashKey: 7 },
    { data: 'x'.repeat(1000), partitionKey: 'k' },
    { data: undefined, partitionKey: 'k' },
    { data: 10n, partitionKey: 'k' },
    null,
    'not a record',
  ];
  for (const record of bad) {
    await assert.rejects(producer.put(record), (e) => (assertCode(e, 'InvalidRecord'), true), JSON.stringify(String(record?.data)));
  }
  const ok = producer.put({ data: 'x'.repeat(999), partitionKey: 'k' });
  assert.ok((await good).sequenceNumber);
  assert.ok((await ok).sequenceNumber);
  // The first record without a key waited for the stream's settings (it might have been an AUTO
  // stream) and was refused when they came; the next one was refused at put.
  assert.equal(producer.stats().recordsAccepted, 3);
  await producer.close();
});

test('data forms: bytes, typed arrays, strings, JSON values', async () => {
  await createStream(k.client, 'forms', 1);
  const producer = new KinesisProducer({ ...base(), streamName: 'forms', lingerMs: 0 });
  const inputs = [
    [new Uint8Array([0, 1, 255]), Buffer.from([0, 1, 255])],
    [new Uint16Array([1]).buffer, Buffer.from(new Uint16Array([1]).buffer)],
    [new DataView(new Uint8Array([9, 8, 7]).buffer, 1, 2), Buffer.from([8, 7])],
    ['héllo', Buffer.from('héllo')],
    [{ a: [1, true, null] }, Buffer.from('{"a":[1,true,null]}')],
    [12.5, Buffer.from('12.5')],
    ['', Buffer.alloc(0)],
  ];
  const results = await producer.putMany(inputs.map(([data], i) => ({ data, partitionKey: `k${i}` })));
  const stored = new Map((await readStream(k.client, 'forms')).map((r) => [r.SequenceNumber, Buffer.from(r.Data)]));
  inputs.forEach(([, bytes], i) => assert.ok(stored.get(results[i].sequenceNumber).equals(bytes), `input ${i}`));
  await producer.close();
});

test('putMany rejects with every outcome when one fails; close refuses new records', async () => {
  const producer = new KinesisProducer(base());
  await assert.rejects(
    producer.putMany([
      { data: 'a', partitionKey: 'a' },
      { data: 'b', partitionKey: '' },
    ]),
    (e) => {
      assertCode(e, 'InvalidRecord');
      assert.equal(e.results.length, 2);
      assert.equal(e.results[0].status, 'fulfilled');
      assert.equal(e.results[1].status, 'rejected');
      return true;
    },
  );
  // A refused close() changes nothing: records are still taken, and a good close() settles them.
  await assert.rejects(producer.close({ timeoutMs: -1 }), (e) => (assertCode(e, 'InvalidOption', 'timeoutMs'), true));
  const taken = producer.put({ data: 'after a refused close', partitionKey: 'a' });
  await producer.close();
  assert.equal((await taken).shardId.startsWith('shardId-'), true);
  await assert.rejects(producer.put({ data: 'late', partitionKey: 'a' }), (e) => (assertCode(e, 'Closed'), true));
  const s = producer.stats();
  assert.equal(s.recordsAcknowledged, 2);
  assert.equal(s.bufferedRecords + s.inFlightRecords, 0);
});

test('a missing stream rejects every record with NotFound and the service code', async () => {
  const producer = new KinesisProducer({ ...base(), streamName: 'no-such-stream' });
  const results = await Promise.allSettled([1, 2, 3].map((i) => producer.put({ data: `${i}`, partitionKey: 'k' })));
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    assertCode(r.reason, 'NotFound');
    assert.equal(r.reason.awsCode, 'ResourceNotFoundException');
    assert.equal(r.reason.status, 400);
    assert.equal(r.reason.retryable, false);
  }
  // At once: the stream's settings or the PutRecords call, whichever answers first, says so.
  assert.ok(producer.stats().requestsFailed <= 1);
});

test('linger: records wait for lingerMs, flush sends at once', async () => {
  const producer = new KinesisProducer({ ...base(), lingerMs: 60_000 });
  let settled = false;
  const p = producer.put({ data: 'waits', partitionKey: 'k' }).then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(settled, false);
  assert.equal(producer.stats().bufferedRecords, 1);
  await producer.flush();
  assert.equal(settled, true);
  await p;
});

/** A fetch that records requests and answers with `respond(request, body)`; it answers the
 * producer's DescribeStreamSummary itself (an active stream) and leaves it out of `requests`. */
function fakeFetch(respond) {
  const requests = [];
  const fetch = async (url, init) => {
    if (new Headers(init.headers).get('x-amz-target')?.endsWith('.DescribeStreamSummary')) {
      return json(200, { StreamDescriptionSummary: { StreamName: 'api', StreamStatus: 'ACTIVE', OpenShardCount: 1 } });
    }
    const body = JSON.parse(Buffer.from(init.body).toString('utf8'));
    requests.push({ url, init, body });
    return respond({ url, init, body }, requests.length);
  };
  return { fetch, requests };
}

const json = (status, value, headers = {}) =>
  new Response(typeof value === 'string' ? value : JSON.stringify(value), { status, headers });

test('requests are signed PutRecords calls of at most 500 records, in order', async () => {
  const { fetch, requests } = fakeFetch((req) =>
    json(200, {
      FailedRecordCount: 0,
      Records: req.body.Records.map((_, i) => ({ SequenceNumber: `${requests.length}000${i}`, ShardId: 'shardId-0' })),
    }),
  );
  const producer = new KinesisProducer({
    ...base(),
    streamArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/api',
    fetch,
    credentials: { ...TEST_CREDENTIALS, sessionToken: 'token-1' },
  });
  const results = await Promise.all(
    Array.from({ length: 1001 }, (_, i) => producer.put({ data: { i }, partitionKey: `k${i % 7}` })),
  );
  await producer.close();
  assert.deepEqual(
    requests.map((r) => r.body.Records.length),
    [500, 500, 1],
  );
  const { init, body, url } = requests[0];
  assert.equal(url, `${k.endpoint}/`);
  assert.equal(init.method, 'POST');
  assert.equal(init.headers['content-type'], 'application/x-amz-json-1.1');
  assert.equal(init.headers['x-amz-target'], 'Kinesis_20131202.PutRecords');
  assert.equal(init.headers['x-amz-security-token'], 'token-1');
  assert.match(init.headers['x-amz-date'], /^\d{8}T\d{6}Z$/);
  assert.match(
    init.headers.authorization,
    /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/us-east-1\/kinesis\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=[0-9a-f]{64}$/,
  );
  assert.equal(body.StreamName, 'api');
  assert.equal(body.StreamARN, 'arn:aws:kinesis:us-east-1:123456789012:stream/api');
  assert.equal(Buffer.from(body.Records[3].Data, 'base64').toString(), '{"i":3}');
  assert.equal(results[1000].sequenceNumber, '30000');
  assert.equal(results[501].sequenceNumber, '20001');
});

test('after a partial failure only the failed records are sent again', async () => {
  const { fetch, requests } = fakeFetch((req, n) =>
    json(200, {
      FailedRecordCount: n === 1 ? 2 : 0,
      Records: req.body.Records.map((_, i) =>
        n === 1 && i === 1
          ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' }
          : n === 1 && i === 2
            ? { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal service failure.' }
            : { SequenceNumber: `${n}${i}`, ShardId: 'shardId-1' },
      ),
    }),
  );
  const producer = new KinesisProducer({ ...base(), fetch });
  const results = await Promise.all([0, 1, 2, 3].map((i) => producer.put({ data: `${i}`, partitionKey: 'k' })));
  await producer.close();
  assert.deepEqual(
    requests.map((r) => r.body.Records.map((rec) => Buffer.from(rec.Data, 'base64').toString())),
    [['0', '1', '2', '3'], ['1', '2']],
  );
  assert.deepEqual(results.map((r) => r.sequenceNumber), ['10', '20', '21', '13']);
  const s = producer.stats();
  assert.equal(s.recordsAcknowledged, 4);
  assert.equal(s.recordsSent, 6);
  assert.equal(s.retries, 2);
  assert.equal(s.throttles, 1);
  assert.equal(s.recordsFailed, 0);
});

test('errors are classified: terminal ones reject at once, retryable ones until the TTL', async () => {
  const answers = [
    [() => json(500, { __type: 'InternalFailure', message: 'boom' }), 'ServiceUnavailable', true],
    [() => json(503, '<html>unavailable</html>'), 'ServiceUnavailable', true],
    [() => json(429, ''), 'Throttled', true],
    [() => json(400, { __type: 'AccessDeniedException', Message: 'no' }), 'AccessDenied', false],
    [() => json(400, { __type: 'ExpiredTokenException', message: 'expired' }), 'ExpiredCredentials', true],
    [() => json(400, '', { 'x-amzn-ErrorType': 'ValidationException:http://x/' }), 'Validation', false],
    [() => json(400, { __type: 'KMSDisabledException', message: 'disabled' }), 'Kms', false],
    [() => json(400, { __type: 'InvalidSignatureException', message: 'Signature expired: 20260101T000000Z is now earlier than 20260101T001000Z' }), 'ClockSkew', true],
    [() => json(200, 'not json'), 'InvalidResponse', true],
    [() => json(200, { Records: [] }), 'InvalidResponse', true],
    [() => Promise.reject(new TypeError('fetch failed')), 'Network', true],
    [() => { throw new Error('synchronous failure'); }, 'Network', true],
  ];
  for (const [respond, code, retryable] of answers) {
    const { fetch, requests } = fakeFetch(respond);
    const producer = new KinesisProducer({ ...base(), fetch, recordTtlMs: 300 });
    await assert.rejects(
      producer.put({ data: 'x', partitionKey: 'k' }),
      (e) => {
        if (retryable) {
          assertCode(e, 'Expired');
          assert.equal(e.lastCode, code, e.message);
        } else {
          assertCode(e, code);
          assert.equal(requests.length, 1, `${code} is not retried`);
        }
        return true;
      },
      code,
    );
  }
});

test('no answer can trap the wasm module', async () => {
  let seed = 7;
  const rand = (n) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const pieces = ['{', '}', '[', ']', '"Records"', ':', ',', '"SequenceNumber"', '"ErrorCode"', 'null', '1e999', '"\\ud800"', '-', '0', 'true', '"x"', '\u0000', '\\', '"__type"'];
  const { fetch, requests } = fakeFetch(() => {
    const body = Array.from({ length: rand(40) }, () => pieces[rand(pieces.length)]).join('');
    return json([200, 400, 500, 302, 204][rand(5)], body);
  });
  // Many producers, so that backoff after one bad answer does not limit how many are read.
  const outcomes = await Promise.all(
    Array.from({ length: 80 }, async (_, p) => {
      const producer = new KinesisProducer({ ...base(), fetch, lingerMs: 0, recordTtlMs: 150 });
      return Promise.allSettled(Array.from({ length: 5 }, (_, i) => producer.put({ data: `${p}/${i}`, partitionKey: 'k' })));
    }),
  );
  for (const o of outcomes.flat()) assert.ok(o.status === 'fulfilled' || isKinesisEdgeError(o.reason), String(o.reason));
  assert.ok(requests.length >= 80, `${requests.length} answers read`);
  // The module still works: a real answer is read normally afterwards.
  const real = new KinesisProducer(base());
  assert.ok((await real.put({ data: 'after', partitionKey: 'k' })).sequenceNumber);
  await real.close();
});

test('a credentials provider is shared by concurrent requests and called again before expiry', async () => {
  let calls = 0;
  const provider = async () => {
    calls += 1;
    await new Promise((r) => setTimeout(r, 20));
    return { ...TEST_CREDENTIALS, sessionToken: `t${calls}`, expiration: new Date(Date.now() + 30_000) };
  };
  const { fetch, requests } = fakeFetch((req) =>
    json(200, { Records: req.body.Records.map(() => ({ SequenceNumber: '1', ShardId: 's' })) }),
  );
  const producer = new KinesisProducer({ ...base(), fetch, credentials: provider, maxRecordsPerRequest: 1 });
  await Promise.all([1, 2, 3, 4].map((i) => producer.put({ data: `${i}`, partitionKey: 'k' })));
  assert.equal(calls, 1, 'four concurrent requests share one provider call');
  const first = requests[0].init.headers['x-amz-security-token'];
  assert.ok(requests.slice(0, 4).every((r) => r.init.headers['x-amz-security-token'] === first));
  // These credentials expire within the refresh margin, so the next request asks again.
  await producer.put({ data: 'next', partitionKey: 'k' });
  assert.equal(calls, 2);
  assert.equal(requests.at(-1).init.headers['x-amz-security-token'], 't2');

  let failing = 0;
  const broken = new KinesisProducer({
    ...base(),
    recordTtlMs: 300,
    credentials: async () => {
      failing += 1;
      throw new Error('identity pool unreachable');
    },
  });
  // The provider may recover, so the record waits until its TTL before failing as Credentials.
  await assert.rejects(broken.put({ data: 'x', partitionKey: 'k' }), (e) => (assertCode(e, 'Credentials'), /identity pool unreachable/.test(e.message)));
  assert.ok(failing >= 2, `provider asked again while the record waited (${failing})`);

  let long = 0;
  const stable = new KinesisProducer({
    ...base(),
    fetch,
    maxRecordsPerRequest: 1,
    credentials: async () => ((long += 1), { ...TEST_CREDENTIALS, expiration: Date.now() + 3_600_000 }),
  });
  await Promise.all([1, 2, 3].map((i) => stable.put({ data: `${i}`, partitionKey: 'k' })));
  await stable.put({ data: 'later', partitionKey: 'k' });
  assert.equal(long, 1, 'cached until close to expiry');
});

test('signRequest reproduces botocore signatures for Kinesis calls', async () => {
  const vectors = JSON.parse(readFileSync(new URL('../vectors/kinesis-botocore.json', import.meta.url)));
  for (const c of vectors.cases) {
    const headers = await signRequest({
      method: 'POST',
      url: c.url,
      headers: Object.fromEntries(c.headers),
      body: Buffer.from(c.body_base64, 'base64'),
      region: c.region,
      service: 'kinesis',
      credentials: {
        accessKeyId: vectors.access_key_id,
        secretAccessKey: vectors.secret_access_key,
        sessionToken: c.session_token ? vectors.session_token : undefined,
      },
      date: new Date(c.time),
    });
    assert.equal(headers.authorization, c.authorization, c.name);
    assert.equal(headers['x-amz-security-token'], c.session_token ? vectors.session_token : undefined);
  }
  // Headers as a Headers object or pairs, body as a string, credentials as a provider, date as ISO text.
  const a = await signRequest({
    method: 'GET',
    url: 'https://example.amazonaws.com/',
    headers: new Headers({ 'X-Custom': 'v' }),
    body: '',
    region: 'us-east-1',
    service: 'service',
    credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' }),
    date: '2015-08-30T12:36:00Z',
  });
  const b = await signRequest({
    url: new URL('https://example.amazonaws.com/'),
    headers: [['x-custom', 'v']],
    region: 'us-east-1',
    service: 'service',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
    date: Date.parse('2015-08-30T12:36:00Z'),
  });
  assert.equal(a.authorization, b.authorization);
  assert.equal(a['x-amz-date'], '20150830T123600Z');
  await assert.rejects(signRequest({ url: 'https://x/', region: 'us-east-1', credentials: TEST_CREDENTIALS }), (e) => (assertCode(e, 'InvalidOption', 'service'), true));
  await assert.rejects(signRequest({ url: 'relative/path', region: 'r', service: 's', credentials: TEST_CREDENTIALS }), (e) => (assertCode(e, 'InvalidOption', 'url'), true));
  await assert.rejects(signRequest({ url: 'https://x/', region: 'r', service: 's', credentials: TEST_CREDENTIALS, date: 'soon' }), (e) => (assertCode(e, 'InvalidOption', 'date'), true));
});

test('errors never carry the secret key, the session token or a signature', async () => {
  const secret = 'SECRETMARKER-abc';
  const token = 'TOKENMARKER-xyz';
  const { fetch, requests } = fakeFetch(() => json(400, { __type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' }));
  const producer = new KinesisProducer({ ...base(), fetch, recordTtlMs: 200, credentials: { accessKeyId: 'AKID', secretAccessKey: secret, sessionToken: token } });
  const error = await producer.put({ data: 'x', partitionKey: 'k' }).catch((e) => e);
  const signature = requests[0].init.headers.authorization.split('Signature=')[1];
  const shown = JSON.stringify({ ...error, message: error.message, stack: error.stack, stats: producer.stats() });
  for (const marker of [secret, token, signature]) assert.ok(!shown.includes(marker), `leaked ${marker.slice(0, 12)}`);
  const bad = (() => {
    try {
      new KinesisProducer({ ...base(), credentials: { accessKeyId: 'A K', secretAccessKey: secret, sessionToken: token } });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(!`${bad.message}${bad.stack}`.includes(secret));
});

test('no option or record, however odd, can trap the wasm module', async () => {
  let seed = 11;
  const rand = (n) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const odd = [undefined, null, 0, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 53, 1e308, '', 'x', '\ud800', '0', '01',
    '340282366920938463463374607431768211456', 'k'.repeat(300), [], {}, [1], () => 1, Symbol.iterator, 10n, true,
    new Uint8Array(3), new Date(0), 'arn:aws:kinesis:us-east-1:123456789012:stream/a', 'http://127.0.0.1:1', 'us-east-1'];
  const pick = () => odd[rand(odd.length)];
  const keys = ['region', 'streamName', 'streamArn', 'endpoint', 'credentials', 'lingerMs', 'maxRecordsPerRequest',
    'maxRequestBytes', 'maxRecordBytes', 'maxInFlightRequests', 'fetch', 'recordTtlMs', 'requestTimeoutMs'];
  for (let i = 0; i < 400; i++) {
    const options = Object.fromEntries(keys.filter(() => rand(3) > 0).map((key) => [key, pick()]));
    try {
      const p = new KinesisProducer(options);
      p.stats();
    } catch (e) {
      assert.ok(isKinesisEdgeError(e), `options ${i} threw ${e}`);
    }
  }
  const producer = new KinesisProducer({ ...base(), recordTtlMs: 100, fetch: async () => new Response('{}', { status: 500 }) });
  const outcomes = await Promise.allSettled(
    Array.from({ length: 400 }, () => producer.put(rand(8) === 0 ? pick() : { data: pick(), partitionKey: pick(), explicitHashKey: rand(2) ? pick() : undefined })),
  );
  for (const o of outcomes) if (o.status === 'rejected') assert.ok(isKinesisEdgeError(o.reason), String(o.reason));
  // Still alive: a real round trip works.
  const real = new KinesisProducer(base());
  assert.ok((await real.put({ data: 'still here', partitionKey: 'k' })).sequenceNumber);
  await real.close();
});

test('a closed producer leaves no timer behind to keep Node running', () => {
  // With a 60 s linger, a timer left armed after close() would hold the process for a minute.
  const script = `
    import { KinesisProducer } from 'kinesis-edge';
    const p = new KinesisProducer({ region: 'us-east-1', streamName: 's', lingerMs: 60000,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      fetch: async (url, init) => new Response(JSON.stringify({ Records: [{ SequenceNumber: '1', ShardId: 's' }] })) });
    p.put({ data: 'x', partitionKey: 'k' }).catch(() => {});
    await p.close();
    console.log('closed');
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: new URL('../..', import.meta.url),
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(out.trim(), 'closed');
});
