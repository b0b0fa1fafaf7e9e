// A fault-injecting HTTP proxy on 127.0.0.1 in front of kinesalite, for the failures no
// emulator produces. Faults are drawn per request from a seeded generator; `set()` changes them
// while it runs. Per-record failures are real: failed entries are taken out of the request
// before it is forwarded, so the stream never holds a record the producer was told failed.
import http from 'node:http';
import { createHash } from 'node:crypto';
import { mulberry32 } from '../../examples/devices.mjs';
import { userRecords } from './support.mjs';

const ENTRY_ERRORS = {
  ProvisionedThroughputExceededException: 'Rate exceeded for shard shardId-000000000000 in stream s.',
  InternalFailure: 'Internal service failure.',
};

const REQUEST_ERRORS = [
  [500, 'InternalFailure', 'Internal service failure.'],
  [503, 'ServiceUnavailable', 'Service unavailable.'],
  [400, 'ProvisionedThroughputExceededException', 'Rate exceeded for stream s.'],
  [400, 'LimitExceededException', 'Rate exceeded.'],
  [429, 'ThrottlingException', 'Rate exceeded.'],
];

/**
 * faults: {
 *   failEntries: share of entries failed per batch, with either per-record error code
 *   requestErrors: share of requests answered with a 400/429/500/503 JSON error
 *   refuseRequests: share answered 400 KMSAccessDeniedException, an error refused for good;
 *     the user records of those requests are kept in `refused` (base64 of each one's data)
 *   resetBefore: share of connections reset before forwarding (nothing stored)
 *   resetAfter: share reset after kinesalite stored the batch (the answer is lost)
 *   every: { resetBefore, requestErrors, resetAfter, refuseRequests, failEntries }: also inject that fault at every n-th
 *     chance, so that it certainly happens whatever timing does to the order of the draws
 *   stall: share never answered (the producer's timeout must fire)
 *   latencyMs: extra delay before every answer
 *   skewMs: offset of the `Date` header from the real clock
 *   expireTokenAfter: after this many requests, requests signed with the first session token
 *     seen are refused with ExpiredTokenException
 *   down: refuse every request by resetting it (an outage)
 *   shardLimits: enforce Kinesis's per-shard write limits, 1,000 records and 1 MiB (data plus
 *     partition key) per second: each shard a bucket holding one second's worth, refilled
 *     continuously; entries over it are refused with ProvisionedThroughputExceededException
 * }
 */
export async function startFaultProxy(target, faults = {}, seed = 1) {
  const random = mulberry32(seed);
  let current = { ...faults };
  /** Chances each fault has had, for `faults.every`. */
  const chances = { resetBefore: 0, requestErrors: 0, resetAfter: 0, refuseRequests: 0, failEntries: 0 };
  const counts = { requests: 0, putRecords: 0, entries: 0, refusedRequests: 0, failedEntries: 0, overShardLimits: 0, requestErrors: 0, resets: 0, lostAnswers: 0, lostEntries: 0, stalls: 0, expiredTokens: 0 };
  /** Per stream: its open shards' hash ranges, each with its buckets (`shardLimits`). */
  const shardBuckets = new Map();
  /** Entries failed per error code. */
  counts.failedByCode = {};
  // Data of every entry the producer was told succeeded, to catch a success sent twice.
  const acknowledged = new Set();
  const resentAfterSuccess = [];
  const refused = [];
  let firstToken;
  const stalled = new Set();
  const upstream = new URL(target);

  const forward = (headers, body) =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { host: upstream.hostname, port: upstream.port, method: 'POST', path: '/', headers: { ...headers, 'content-length': body.length } },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  /** Which entries of `body` are over their shard's limits now (taking the rest from the buckets). */
  const overShardLimits = async (headers, body) => {
    const stream = body.StreamName ?? body.StreamARN;
    if (!shardBuckets.has(stream)) {
      const listing = { ...headers, 'x-amz-target': 'Kinesis_20131202.ListShards' };
      const r = await forward(listing, Buffer.from(JSON.stringify({ StreamName: body.StreamName, StreamARN: body.StreamARN })));
      const shards = JSON.parse(r.body.toString('utf8')).Shards.filter((s) => !s.SequenceNumberRange.EndingSequenceNumber);
      const full = { records: 1_000, bytes: 1 << 20, at: performance.now() };
      shardBuckets.set(stream, shards.map((s) => ({ start: BigInt(s.HashKeyRange.StartingHashKey), end: BigInt(s.HashKeyRange.EndingHashKey), ...full })));
    }
    const buckets = shardBuckets.get(stream);
    const now = performance.now();
    for (const b of buckets) {
      const seconds = (now - b.at) / 1000;
      b.records = Math.min(1_000, b.records + 1_000 * seconds);
      b.bytes = Math.min(1 << 20, b.bytes + (1 << 20) * seconds);
      b.at = now;
    }
    return body.Records.map((rec) => {
      const hash = rec.ExplicitHashKey !== undefined ? BigInt(rec.ExplicitHashKey) : BigInt(`0x${createHash('md5').update(rec.PartitionKey, 'utf8').digest('hex')}`);
      const b = buckets.find((s) => s.start <= hash && hash <= s.end);
      const bytes = Buffer.byteLength(rec.Data, 'base64') + Buffer.byteLength(rec.PartitionKey, 'utf8');
      if (!b || (b.records >= 1 && b.bytes >= bytes)) {
        if (b) (b.records -= 1), (b.bytes -= bytes);
        return false;
      }
      counts.overShardLimits += 1;
      return true;
    });
  };
  // Success is tracked per user record, so a record resent inside another aggregate is caught too.
  const carried = (rec) => userRecords(Buffer.from(rec.Data, 'base64')).map((u) => u.data.toString('base64'));

  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks);
    const f = current;
    counts.requests += 1;
    /** Resolves true once the answer was handed to the client, false if the client had gone (its timeout fired). */
    const answer = async (status, headers, body) => {
      if (f.latencyMs) await new Promise((r) => setTimeout(r, f.latencyMs));
      if (res.destroyed || req.socket.destroyed) return false;
      headers.date = new Date(Date.now() + (f.skewMs ?? 0)).toUTCString();
      return new Promise((resolve) => {
        res.once('close', () => resolve(res.writableFinished));
        res.writeHead(status, headers).end(body);
      });
    };
    const jsonError = (status, type, message) =>
      answer(status, { 'content-type': 'application/x-amz-json-1.1' }, JSON.stringify({ __type: type, message }));

    const isPut = req.headers['x-amz-target'] === 'Kinesis_20131202.PutRecords';
    if (!isPut) {
      const r = await forward(req.headers, raw);
      return answer(r.status, { 'content-type': r.headers['content-type'] }, r.body);
    }
    counts.putRecords += 1;
    /** Whether fault `name` strikes now: drawn, or its n-th chance (`faults.every`). */
    const due = (name) => random() < (f[name] ?? 0) || (f.every?.[name] > 0 && ++chances[name] % f.every[name] === 0);
    if (f.down || due('resetBefore')) {
      counts.resets += 1;
      return req.socket.destroy();
    }
    if (random() < (f.stall ?? 0)) {
      counts.stalls += 1;
      stalled.add(res);
      return;
    }
    const token = req.headers['x-amz-security-token'];
    firstToken ??= token;
    if (f.expireTokenAfter !== undefined && counts.requests > f.expireTokenAfter && token && token === firstToken) {
      counts.expiredTokens += 1;
      return jsonError(400, 'ExpiredTokenException', 'The security token included in the request is expired');
    }
    // Drawn only when asked for, so other tests' seeded draws stay as they were.
    if ((f.refuseRequests || f.every?.refuseRequests) && due('refuseRequests')) {
      counts.refusedRequests += 1;
      for (const rec of JSON.parse(raw.toString('utf8')).Records) refused.push(...carried(rec));
      return jsonError(400, 'KMSAccessDeniedException', 'The ciphertext refers to a key that is not accessible.');
    }
    if (due('requestErrors')) {
      counts.requestErrors += 1;
      const [status, type, message] = REQUEST_ERRORS[Math.floor(random() * REQUEST_ERRORS.length)];
      return jsonError(status, type, message);
    }
    const body = JSON.parse(raw.toString('utf8'));
    for (const rec of body.Records) for (const u of carried(rec)) if (acknowledged.has(u)) resentAfterSuccess.push(u);
    counts.entries += body.Records.length;
    const failed = f.shardLimits ? await overShardLimits(req.headers, body) : body.Records.map(() => due('failEntries'));
    const kept = body.Records.filter((_, i) => !failed[i]);
    let stored = [];
    if (kept.length) {
      const r = await forward(req.headers, Buffer.from(JSON.stringify({ ...body, Records: kept })));
      if (r.status !== 200) return answer(r.status, { 'content-type': r.headers['content-type'] }, r.body);
      stored = JSON.parse(r.body.toString('utf8')).Records;
    }
    const lose = () => {
      counts.lostAnswers += 1;
      counts.lostEntries += kept.reduce((n, rec) => n + carried(rec).length, 0);
    };
    if (kept.length && due('resetAfter')) {
      lose();
      return req.socket.destroy();
    }
    const codes = f.shardLimits ? ['ProvisionedThroughputExceededException'] : Object.keys(ENTRY_ERRORS);
    let next = 0;
    const records = body.Records.map((_, i) => {
      if (!failed[i]) return stored[next++];
      counts.failedEntries += 1;
      const code = codes[Math.floor(random() * codes.length)];
      counts.failedByCode[code] = (counts.failedByCode[code] ?? 0) + 1;
      return { ErrorCode: code, ErrorMessage: ENTRY_ERRORS[code] };
    });
    const failedCount = failed.filter(Boolean).length;
    const json = JSON.stringify({ FailedRecordCount: failedCount, Records: records });
    // A success counts as told only if the answer reached the client: one that gave up waiting
    // (its request timeout) lost the answer just as a reset would have, and rightly sends again.
    if (await answer(200, { 'content-type': 'application/x-amz-json-1.1' }, json)) {
      for (const rec of kept) for (const u of carried(rec)) acknowledged.add(u);
    } else if (kept.length) lose();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    counts,
    resentAfterSuccess,
    refused,
    set(next) {
      current = { ...next };
    },
    async close() {
      for (const res of stalled) res.socket?.destroy();
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
