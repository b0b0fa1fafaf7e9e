// The JavaScript face of kinesis-edge, shared by every runtime entry point. The entry point
// initialises the wasm module first; this file only wraps it in an idiomatic API.
import { WasmProducer, signRequestNormalized } from './kinesis_edge.js';

const ERROR_NAME = 'KinesisEdgeError';

function kinesisError(code, message, extra) {
  const error = new Error(message);
  error.name = ERROR_NAME;
  error.code = code;
  return Object.assign(error, extra);
}

/** True for errors thrown or rejected by kinesis-edge (they carry a stable `code`). */
export function isKinesisEdgeError(value) {
  return value instanceof Error && value.name === ERROR_NAME && typeof value.code === 'string';
}

function asBytes(value) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return null;
}

export class KinesisProducer {
  #inner;
  /** id -> { promise, resolve, reject } for every record not yet settled. */
  #pending = new Map();

  constructor(options) {
    if (options === null || typeof options !== 'object') {
      throw kinesisError('InvalidOption', 'invalid option `options`: must be an object', { field: 'options' });
    }
    this.#inner = new WasmProducer(options, {
      onAck: (id, sequenceNumber, shardId) => this.#settle(id, undefined, { sequenceNumber, shardId }),
      onFail: (id, error) => this.#settle(id, error),
    });
  }

  /** Accept one record; resolves with `{ sequenceNumber, shardId }` once Kinesis stored it. */
  put(record) {
    let id;
    try {
      id = this.#accept(record);
    } catch (error) {
      return Promise.reject(error);
    }
    let resolve, reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#pending.set(id, { promise, resolve, reject });
    return promise;
  }

  /**
   * Accept many records. Resolves with their results in order once all have settled; if any
   * failed, rejects with the first failure, whose `results` holds every record's outcome.
   */
  async putMany(records) {
    if (!Array.isArray(records)) {
      throw kinesisError('InvalidRecord', 'invalid record: putMany takes an array of records');
    }
    const results = await Promise.allSettled(records.map((r) => this.put(r)));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      failed.reason.results = results;
      throw failed.reason;
    }
    return results.map((r) => r.value);
  }

  /** Send everything buffered now; resolves when all of it has settled (either way). */
  async flush() {
    const waiting = Array.from(this.#pending.values(), (p) => p.promise);
    this.#inner.flush();
    await Promise.allSettled(waiting);
  }

  /** Refuse new records, send the rest, and resolve when everything has settled. */
  async close() {
    const waiting = Array.from(this.#pending.values(), (p) => p.promise);
    this.#inner.close();
    await Promise.allSettled(waiting);
  }

  /** Counters: records and bytes accepted, sent, acknowledged, failed; requests; buffered now. */
  stats() {
    return this.#inner.stats();
  }

  #accept(record) {
    if (record === null || typeof record !== 'object') {
      throw kinesisError('InvalidRecord', 'invalid record: expected { data, partitionKey, explicitHashKey? }');
    }
    const { data, partitionKey, explicitHashKey } = record;
    const bytes = asBytes(data);
    if (bytes) return this.#inner.putBytes(bytes, partitionKey, explicitHashKey);
    if (typeof data === 'string') return this.#inner.putText(data, partitionKey, explicitHashKey);
    let json;
    try {
      json = JSON.stringify(data);
    } catch (cause) {
      throw kinesisError('InvalidRecord', `invalid record: data is not JSON-serialisable (${cause.message})`, { cause });
    }
    if (json === undefined) {
      throw kinesisError('InvalidRecord', 'invalid record: data must be bytes, a string or a JSON-serialisable value');
    }
    return this.#inner.putText(json, partitionKey, explicitHashKey);
  }

  #settle(id, error, value) {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    if (error) pending.reject(error);
    else pending.resolve(value);
  }
}

function headerPairs(headers) {
  if (headers === undefined || headers === null) return [];
  const entries =
    typeof headers.entries === 'function' && !Array.isArray(headers)
      ? Array.from(headers.entries())
      : Array.isArray(headers)
        ? headers
        : Object.entries(headers);
  return entries.map(([name, value]) => [String(name).toLowerCase(), String(value)]);
}

function dateMillis(date) {
  if (date === undefined || date === null) return undefined;
  const ms = date instanceof Date ? date.getTime() : typeof date === 'string' ? Date.parse(date) : date;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw kinesisError('InvalidOption', 'invalid option `date`: must be a Date, epoch milliseconds or an ISO string', {
      field: 'date',
    });
  }
  return ms;
}

/**
 * Sign any AWS request with SigV4. Resolves to the headers to add:
 * `authorization`, `x-amz-date`, and `x-amz-security-token` with temporary credentials.
 */
export async function signRequest({ method = 'GET', url, headers, body, region, service, credentials, date } = {}) {
  let bytes = new Uint8Array(0);
  if (typeof body === 'string') bytes = new TextEncoder().encode(body);
  else if (body !== undefined && body !== null) {
    bytes = asBytes(body);
    if (!bytes) {
      throw kinesisError('InvalidOption', 'invalid option `body`: must be a string, bytes or absent', { field: 'body' });
    }
  }
  const resolved = typeof credentials === 'function' ? await credentials() : credentials;
  return signRequestNormalized({
    method,
    url: url instanceof URL ? url.href : url,
    headers: headerPairs(headers),
    body: bytes,
    region,
    service,
    credentials: resolved,
    date: dateMillis(date),
  });
}
