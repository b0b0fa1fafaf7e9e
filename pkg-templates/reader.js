// KinesisReader: a small stream reader for dashboards (ListShards, GetShardIterator, GetRecords),
// signed like the producer's calls, unpacking KPL aggregated records into their user records.
// Polling, one shard after another; for heavy consumers use the KCL or enhanced fan-out. Its
// endpoint, stream fields, error classification and credential refresh are the core's.
import { answerError, credentialsFresh, endpointUrl, streamFields } from './kinesis_edge.js';
import { signRequest } from './sign.js';
import { kinesisError } from './errors.js';
import { kinesisRecord, misplaced, unpackAggregate, userRecords } from './deaggregate.js';

const encoder = new TextEncoder();
const expirationMs = (c) => (c?.expiration === undefined || c?.expiration === null ? undefined : new Date(c.expiration).getTime());

export class KinesisReader {
  #options;
  #cached;

  /** Options as for `KinesisProducer`: `region`, `streamName` or `streamArn`, `endpoint`, `credentials`, `fetch`. */
  constructor({ region, streamName, streamArn, endpoint, credentials, fetch: fetchFn } = {}) {
    this.#options = {
      region,
      stream: JSON.parse(streamFields(region, streamName, streamArn)),
      url: endpointUrl('kinesis', region, endpoint),
      credentials,
      fetch: fetchFn ?? ((...args) => globalThis.fetch(...args)),
    };
  }

  async #credentials() {
    const { credentials } = this.#options;
    if (typeof credentials !== 'function') return credentials;
    if (!this.#cached || !credentialsFresh(expirationMs(this.#cached), Date.now())) this.#cached = await credentials();
    return this.#cached;
  }

  /** One Kinesis call: `operation` with the JSON `input`; resolves with the JSON output. */
  async #call(operation, input) {
    const body = encoder.encode(JSON.stringify(input));
    const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `Kinesis_20131202.${operation}` };
    const signed = await signRequest({
      method: 'POST',
      url: this.#options.url,
      headers,
      body,
      region: this.#options.region,
      service: 'kinesis',
      credentials: await this.#credentials(),
    });
    let response;
    try {
      response = await this.#options.fetch(this.#options.url, { method: 'POST', headers: { ...headers, ...signed }, body });
    } catch (e) {
      throw kinesisError('Network', `${operation}: the request failed: ${e?.message ?? e}`, { retryable: true });
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (!response.ok) throw answerError(response.status, response.headers.get('x-amzn-errortype') ?? undefined, bytes);
    return JSON.parse(new TextDecoder().decode(bytes));
  }

  /** Every shard the stream lists, closed ones included (every page). */
  async #shards() {
    const shards = [];
    let page = await this.#call('ListShards', this.#options.stream);
    for (;;) {
      shards.push(...page.Shards);
      if (!page.NextToken) return shards;
      page = await this.#call('ListShards', { NextToken: page.NextToken });
    }
  }

  async #iterator(shardId, type, sequenceNumber) {
    const input = { ...this.#options.stream, ShardId: shardId, ShardIteratorType: type };
    if (sequenceNumber) input.StartingSequenceNumber = sequenceNumber;
    return (await this.#call('GetShardIterator', input)).ShardIterator;
  }

  /**
   * Read the stream: yields, every `pollMs`, the user records that arrived since, oldest first
   * per shard, as `{ shardId, sequenceNumber, subSequenceNumber?, partitionKey, explicitHashKey?,
   * data, arrivedAt }` (`data` a Uint8Array; aggregated records unpacked, those stored on a
   * shard they do not belong to skipped, as the KCL does). `from`: `'LATEST'`
   * (default) or `'TRIM_HORIZON'`. A shard is read only once its parents have been read to their
   * end, so a key's records come in order across splits and merges. A throttled or failing poll
   * of a shard is tried again at the next one; an expired iterator is renewed after the last
   * record read. Stops when `signal` aborts.
   */
  async *records({ from = 'LATEST', pollMs = 1000, limit = 1000, signal } = {}) {
    /** shardId -> { iterator, type, last, range }: shards being read (range: their hash keys). */
    const reading = new Map();
    /** Shards read to their end; with LATEST, also those already closed when reading began. */
    const finished = new Set();
    const startReady = async (shards, type) => {
      const listed = new Set(shards.map((s) => s.ShardId));
      for (const shard of shards) {
        if (reading.has(shard.ShardId) || finished.has(shard.ShardId)) continue;
        const parents = [shard.ParentShardId, shard.AdjacentParentShardId].filter((p) => p && listed.has(p));
        if (parents.every((p) => finished.has(p))) {
          const { StartingHashKey, EndingHashKey } = shard.HashKeyRange;
          const range = [BigInt(StartingHashKey), BigInt(EndingHashKey)];
          reading.set(shard.ShardId, { iterator: await this.#iterator(shard.ShardId, type), type, range });
        }
      }
    };
    const shards = await this.#shards();
    if (from === 'LATEST') for (const s of shards) if (s.SequenceNumberRange?.EndingSequenceNumber) finished.add(s.ShardId);
    await startReady(shards, from);
    let relist = false;
    while (!signal?.aborted) {
      const batch = [];
      for (const [shardId, position] of reading) {
        let out;
        try {
          out = await this.#call('GetRecords', { ShardIterator: position.iterator, Limit: limit });
        } catch (error) {
          if (error.awsCode?.endsWith('ExpiredIteratorException')) {
            position.iterator = position.last
              ? await this.#iterator(shardId, 'AFTER_SEQUENCE_NUMBER', position.last)
              : await this.#iterator(shardId, position.type);
          } else if (!error.retryable) throw error;
          continue; // throttled or unavailable: this shard waits for the next poll
        }
        for (const r of out.Records) {
          batch.push(...unpack(shardId, position.range, r));
          position.last = r.SequenceNumber;
        }
        if (out.NextShardIterator) position.iterator = out.NextShardIterator;
        else {
          // Closed by a reshard and read to its end: its children hold what comes next.
          reading.delete(shardId);
          finished.add(shardId);
          relist = true;
        }
      }
      if (relist) {
        try {
          await startReady(await this.#shards(), 'TRIM_HORIZON');
          relist = false;
        } catch (error) {
          if (!error.retryable) throw error;
        }
      }
      yield batch;
      await pause(pollMs, signal);
    }
  }
}

/** Wait `ms`, or less if `signal` aborts. */
function pause(ms, signal) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** A GetRecords record's user records, by the KCL's rules: none for an aggregate stored on a
 * shard it does not belong to (its readings were sent again). Unlike `deaggregate`, an aggregate
 * whose checksum matches but whose body does not decode is shown as the plain record it is: a
 * dashboard should show what the stream holds, not stop at one bad record it would meet again on
 * every restart. */
function unpack(shardId, range, record) {
  const kinesis = kinesisRecord(record, 0);
  const unpacked = unpackAggregate(kinesis.data);
  if (misplaced(unpacked, range)) return [];
  return userRecords(kinesis, unpacked).map((r) => ({ shardId, ...r }));
}
