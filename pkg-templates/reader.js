// KinesisReader: a small stream reader for dashboards (ListShards, GetShardIterator, GetRecords),
// signed like the producer's calls, unpacking KPL aggregated records into their user records.
// Polling, one shard after another; for heavy consumers use the KCL or enhanced fan-out.
import { answerError, deaggregate } from './kinesis_edge.js';
import { signRequest } from './api.js';

const encoder = new TextEncoder();
const decodeBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
/** Reuse provider credentials until a minute before they expire. */
const EXPIRY_MARGIN_MS = 60_000;

export class KinesisReader {
  #options;
  #cached;

  /** Options as for `KinesisProducer`: `region`, `streamName` or `streamArn`, `endpoint`, `credentials`, `fetch`. */
  constructor({ region, streamName, streamArn, endpoint, credentials, fetch: fetchFn } = {}) {
    this.#options = {
      region,
      stream: streamArn ? { StreamARN: streamArn } : { StreamName: streamName },
      url: endpoint ?? `https://kinesis.${region}.amazonaws.com/`,
      credentials,
      fetch: fetchFn ?? ((...args) => globalThis.fetch(...args)),
    };
  }

  async #credentials() {
    const { credentials } = this.#options;
    if (typeof credentials !== 'function') return credentials;
    const expires = this.#cached?.expiration ? new Date(this.#cached.expiration).getTime() : Infinity;
    if (!this.#cached || expires - Date.now() < EXPIRY_MARGIN_MS) this.#cached = await credentials();
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
    const response = await this.#options.fetch(this.#options.url, { method: 'POST', headers: { ...headers, ...signed }, body });
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (!response.ok) throw answerError(response.status, response.headers.get('x-amzn-errortype') ?? undefined, bytes);
    return JSON.parse(new TextDecoder().decode(bytes));
  }

  /** The stream's open shards (every page). */
  async #openShards() {
    const shards = [];
    let page = await this.#call('ListShards', this.#options.stream);
    for (;;) {
      shards.push(...page.Shards.filter((s) => !s.SequenceNumberRange?.EndingSequenceNumber));
      if (!page.NextToken) return shards;
      page = await this.#call('ListShards', { NextToken: page.NextToken });
    }
  }

  /**
   * Read the stream: yields, every `pollMs`, the user records that arrived since, oldest first
   * per shard, as `{ shardId, sequenceNumber, subSequenceNumber?, partitionKey, explicitHashKey?,
   * data, arrivedAt }` (`data` a Uint8Array; aggregated records unpacked). `from`: `'LATEST'`
   * (default) or `'TRIM_HORIZON'`. Stops when `signal` aborts.
   */
  async *records({ from = 'LATEST', pollMs = 1000, limit = 1000, signal } = {}) {
    const iterators = new Map();
    const open = async (shardId, type) => {
      const out = await this.#call('GetShardIterator', { ...this.#options.stream, ShardId: shardId, ShardIteratorType: type });
      iterators.set(shardId, out.ShardIterator);
    };
    for (const shard of await this.#openShards()) await open(shard.ShardId, from);
    while (!signal?.aborted) {
      const batch = [];
      let resharded = false;
      for (const [shardId, iterator] of iterators) {
        const out = await this.#call('GetRecords', { ShardIterator: iterator, Limit: limit });
        for (const r of out.Records) batch.push(...unpack(shardId, r));
        if (out.NextShardIterator) iterators.set(shardId, out.NextShardIterator);
        else {
          // The shard was closed by a reshard: its children hold what comes next.
          iterators.delete(shardId);
          resharded = true;
        }
      }
      if (resharded) {
        for (const shard of await this.#openShards()) if (!iterators.has(shard.ShardId)) await open(shard.ShardId, 'TRIM_HORIZON');
      }
      yield batch;
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  }
}

function unpack(shardId, record) {
  const data = decodeBase64(record.Data);
  const base = {
    shardId,
    sequenceNumber: record.SequenceNumber,
    arrivedAt: Math.round(Number(record.ApproximateArrivalTimestamp) * 1000),
  };
  const users = deaggregate(data);
  if (!users) return [{ ...base, partitionKey: record.PartitionKey, data }];
  return users.map((u, i) => ({ ...base, subSequenceNumber: i, ...u }));
}
