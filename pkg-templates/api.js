// The JavaScript face of kinesis-edge, shared by every runtime entry point. The entry point
// initialises the wasm module first; this file only wraps it in an idiomatic API.
import { WasmProducer, signRequestNormalized } from './kinesis_edge.js';
import { Spool } from './spool.js';
import { kinesisError } from './errors.js';

export { isKinesisEdgeError } from './errors.js';

const NO_HASH_KEY = 0xffffffff;
const encoder = new TextEncoder();

const invalidRecord = (why, extra) => kinesisError('InvalidRecord', `invalid record: ${why}`, extra);

function asBytes(value) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return null;
}

/** The record's data as bytes or text, or throws InvalidRecord. */
function payload(record) {
  if (record === null || typeof record !== 'object') {
    throw invalidRecord('expected { data, partitionKey, explicitHashKey? }');
  }
  const { data, partitionKey, explicitHashKey } = record;
  if (typeof partitionKey !== 'string') throw invalidRecord('partitionKey must be a string');
  if (explicitHashKey !== undefined && explicitHashKey !== null && typeof explicitHashKey !== 'string') {
    throw invalidRecord('explicitHashKey must be a string');
  }
  const bytes = asBytes(data);
  if (bytes || typeof data === 'string') return bytes ?? data;
  let json;
  try {
    json = JSON.stringify(data);
  } catch (cause) {
    throw invalidRecord(`data is not JSON-serialisable (${cause.message})`, { cause });
  }
  if (json === undefined) throw invalidRecord('data must be bytes, a string or a JSON-serialisable value');
  return json;
}

const ASCII = /^[\x00-\x7f]*$/;

/** Collects many records into one buffer and one layout, so they cross into wasm in one call. */
class Batch {
  buffer = new Uint8Array(1 << 16);
  used = 0;

  reserve(extra) {
    if (this.used + extra <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.used + extra));
    grown.set(this.buffer.subarray(0, this.used));
    this.buffer = grown;
  }

  /** Append text or bytes; returns their start offset (the end is `this.used`). */
  append(value) {
    const start = this.used;
    if (typeof value === 'string') {
      this.reserve(value.length * 3);
      this.used += encoder.encodeInto(value, this.buffer.subarray(start)).written;
    } else {
      this.reserve(value.byteLength);
      this.buffer.set(value, start);
      this.used += value.byteLength;
    }
    return start;
  }

  /**
   * Encode staged records (parallel arrays). When every piece is text and all of it is ASCII,
   * which is the common case of JSON readings, one `encodeInto` of the joined text replaces
   * one call per piece, and string lengths are byte lengths.
   */
  encode(datas, keys, hashKeys) {
    const n = datas.length;
    const layout = new Uint32Array(n * 6);
    this.used = 0;
    const pieces = [];
    let textOnly = true;
    for (let i = 0; i < n && textOnly; i++) {
      textOnly = typeof datas[i] === 'string';
      pieces.push(datas[i], keys[i], hashKeys[i] ?? '');
    }
    const joined = textOnly ? pieces.join('') : '';
    if (textOnly && ASCII.test(joined)) {
      this.reserve(joined.length);
      encoder.encodeInto(joined, this.buffer);
      let at = 0;
      for (let i = 0, o = 0; i < n; i++, o += 6) {
        layout[o] = at;
        layout[o + 1] = at += datas[i].length;
        layout[o + 2] = at;
        layout[o + 3] = at += keys[i].length;
        const hashKey = hashKeys[i];
        layout[o + 4] = typeof hashKey === 'string' ? at : NO_HASH_KEY;
        layout[o + 5] = typeof hashKey === 'string' ? (at += hashKey.length) : 0;
      }
      this.used = at;
    } else {
      for (let i = 0, o = 0; i < n; i++, o += 6) {
        layout[o] = this.append(datas[i]);
        layout[o + 1] = this.used;
        layout[o + 2] = this.append(keys[i]);
        layout[o + 3] = this.used;
        const hashKey = hashKeys[i];
        layout[o + 4] = typeof hashKey === 'string' ? this.append(hashKey) : NO_HASH_KEY;
        layout[o + 5] = this.used;
      }
    }
    return { bytes: this.buffer.subarray(0, this.used), layout };
  }
}

/** Records given to `put` and not yet taken by the core, in order (parallel arrays + a head). */
class Staging {
  datas = [];
  keys = [];
  hashKeys = [];
  targets = [];
  head = 0;

  get length() {
    return this.targets.length - this.head;
  }

  push(data, key, hashKey, target) {
    this.datas.push(data);
    this.keys.push(key);
    this.hashKeys.push(hashKey);
    this.targets.push(target);
  }

  /** Copies of the next `n` records' fields. */
  peek(n) {
    const end = this.head + n;
    return {
      datas: this.datas.slice(this.head, end),
      keys: this.keys.slice(this.head, end),
      hashKeys: this.hashKeys.slice(this.head, end),
      targets: this.targets.slice(this.head, end),
    };
  }

  /** Drop the first `n` records (taken or settled). */
  advance(n) {
    this.head += n;
    if (this.head === this.targets.length) this.clear();
    else if (this.head > 4096 && this.head * 2 > this.targets.length) {
      for (const field of ['datas', 'keys', 'hashKeys', 'targets']) this[field] = this[field].slice(this.head);
      this.head = 0;
    }
  }

  /** Remove and return every target. */
  drain() {
    const targets = this.targets.slice(this.head);
    this.clear();
    return targets;
  }

  clear() {
    this.datas = [];
    this.keys = [];
    this.hashKeys = [];
    this.targets = [];
    this.head = 0;
  }
}

/** Records cross into wasm at most this many at a time, so a blocked queue costs little to retry. */
const COMMIT_CHUNK = 512;
/** Keepalive request bodies a document may have in flight at once (the Fetch standard's limit). */
const KEEPALIVE_BUDGET = 64 * 1024;
/** Producers of this document that flush on unload: they share the keepalive budget. */
const unloading = new Set();
const DEFAULT_SPOOL_MAX_BYTES = 10 * 1024 * 1024;
/** Refusals for good: such a reading leaves the spool; any other failure keeps it for later. */
const REFUSED_FOR_GOOD = new Set(['InvalidRecord', 'NotFound', 'AccessDenied', 'Validation', 'Kms']);
/** A reading that settled unsent but spooled is tried again this much later (or when online). */
const SPOOL_RETRY_MS = 5_000;

/** Settles a `putMany` call once every one of its records has settled. */
class Group {
  constructor(size, resolve, reject) {
    this.outcomes = new Array(size);
    this.remaining = size;
    this.failed = false;
    this.resolve = resolve;
    this.reject = reject;
    if (size === 0) resolve([]);
  }

  settle(index, error, value) {
    this.outcomes[index] = error ? { status: 'rejected', reason: error } : { status: 'fulfilled', value };
    this.failed ||= Boolean(error);
    if (--this.remaining > 0) return;
    if (!this.failed) return this.resolve(this.outcomes.map((o) => o.value));
    // A copy: the first failure's error may be shared with other records and calls.
    const first = this.outcomes.find((o) => o.status === 'rejected').reason;
    this.reject(Object.assign(new Error(first.message), first, { results: this.outcomes }));
  }
}

export class KinesisProducer {
  #inner;
  /** id -> { resolve, reject } (put) or { group, index } (putMany), in id order. */
  #pending = new Map();
  /** Records given to put() and not yet taken, sent to wasm together at the next microtask. */
  #staged = new Staging();
  #scheduled = false;
  #batch = new Batch();
  /** flush()/close() callers waiting until every id below `below` has settled. */
  #waiters = [];
  #nextId = 0;
  /** `onBufferFull: 'wait'`: records the full buffer refused stay staged until records settle. */
  #waitForRoom;
  #blocked = false;
  /** Callers waiting until nothing is staged. */
  #unstagedWaiters = [];
  #closing = false;
  #closeTimeoutMs;
  /** Removes the page lifecycle listeners. */
  #unlisten = () => {};
  /** `spool: 'indexeddb'`: the write-ahead copy of accepted readings. */
  #spool = null;
  #draining = false;
  #drainAgain = false;
  #drainTimer;

  constructor(options) {
    if (options === null || typeof options !== 'object') {
      throw kinesisError('InvalidOption', 'invalid option `options`: must be an object', { field: 'options' });
    }
    const { onBufferFull = 'wait' } = options;
    if (onBufferFull !== 'wait' && onBufferFull !== 'reject') {
      throw kinesisError('InvalidOption', "invalid option `onBufferFull`: must be 'wait' or 'reject'", { field: 'onBufferFull' });
    }
    this.#waitForRoom = onBufferFull === 'wait';
    const { closeTimeoutMs = 30_000 } = options;
    if (typeof closeTimeoutMs !== 'number' || !(closeTimeoutMs >= 0)) {
      throw kinesisError('InvalidOption', 'invalid option `closeTimeoutMs`: must be a number of milliseconds, or Infinity', {
        field: 'closeTimeoutMs',
      });
    }
    this.#closeTimeoutMs = closeTimeoutMs;
    this.#inner = new WasmProducer(options, {
      // One call per answer: ids, and sequence numbers and shard ids joined by newlines.
      onAcks: (ids, sequenceNumbers, shardIds, subSequenceNumbers) => {
        const sequence = sequenceNumbers.split('\n');
        const shard = shardIds.split('\n');
        for (let i = 0; i < ids.length; i++) {
          const result = { sequenceNumber: sequence[i], shardId: shard[i] };
          // Set only for records carried inside an aggregated Kinesis record.
          if (subSequenceNumbers[i] >= 0) result.subSequenceNumber = subSequenceNumbers[i];
          this.#settle(ids[i], undefined, result);
        }
      },
      onFail: (id, error) => this.#settle(id, error),
    });
    if (options.lifecycle !== false) this.#listenToLifecycle();
    if (options.spool !== undefined && options.spool !== false) this.#openSpool(options);
    this.#listenForOnline();
  }

  #openSpool({ spool, spoolMaxBytes = DEFAULT_SPOOL_MAX_BYTES, spoolName, streamName, streamArn }) {
    // Web Locks tell which page loads are gone; without them, tabs would send each other's readings.
    if (spool !== 'indexeddb' || typeof globalThis.indexedDB?.open !== 'function' || typeof globalThis.navigator?.locks?.request !== 'function') {
      throw kinesisError('InvalidOption', "invalid option `spool`: must be 'indexeddb', where IndexedDB and Web Locks exist (a secure context)", {
        field: 'spool',
      });
    }
    if (typeof spoolMaxBytes !== 'number' || !(spoolMaxBytes > 0)) {
      throw kinesisError('InvalidOption', 'invalid option `spoolMaxBytes`: must be a positive number of bytes', { field: 'spoolMaxBytes' });
    }
    this.#spool = new Spool({
      name: spoolName ?? `kinesis-edge:${streamArn ?? streamName}`,
      maxBytes: spoolMaxBytes,
      onOwnerGone: () => this.#drainSpool(),
    });
    this.#spool.ready.then(() => this.#drainSpool());
  }

  /** Where the host tells (pages and their workers), being back online ends the backoff that
   * failed connections built up, and sends what the spool holds. */
  #listenForOnline() {
    if (!('onLine' in (globalThis.navigator ?? {})) || !globalThis.addEventListener) return;
    const online = () => {
      this.#inner.networkRestored();
      if (this.#spool) this.#drainSpool();
    };
    globalThis.addEventListener('online', online);
    const unlisten = this.#unlisten;
    this.#unlisten = () => (unlisten(), globalThis.removeEventListener('online', online));
  }

  /** Send again what the spool holds and this page does not: leftovers of closed pages, and
   * this page's readings that settled unsent (expired while offline, say). */
  async #drainSpool() {
    if (this.#closing) return;
    // A call during a pass (another tab has gone, say) runs one more pass after it.
    if (this.#draining) return void (this.#drainAgain = true);
    this.#draining = true;
    this.#drainAgain = false;
    try {
      const entries = await this.#spool.leftovers();
      if (this.#closing) {
        // Adopted as the producer closed: left for other tabs and later loads.
        for (const entry of entries) this.#spool.release(entry.key);
        return;
      }
      for (const entry of entries) {
        this.#staged.push(entry.data, entry.partitionKey, entry.explicitHashKey, { spoolKey: entry.key });
      }
      this.#schedule();
      // A large spool drains in passes.
      if (entries.length) {
        clearTimeout(this.#drainTimer);
        this.#drainTimer = setTimeout(() => this.#drainSpool(), SPOOL_RETRY_MS);
      }
    } finally {
      this.#draining = false;
      if (this.#drainAgain) this.#drainSpool();
    }
  }

  /**
   * On a page, flush when it is hidden or going away: what fits the keepalive budget leaves at
   * once in keepalive requests, which outlive the page; the rest stays buffered (and is sent if
   * the page comes back).
   */
  #listenToLifecycle() {
    const doc = globalThis.document;
    if (!doc?.addEventListener || !globalThis.addEventListener) return;
    const inner = this.#inner;
    const flush = () => {
      if (this.#closing && inner.isIdle()) return;
      if (!this.#blocked) this.#commit();
      let othersInFlight = 0;
      for (const other of unloading) if (other !== inner) othersInFlight += other.keepaliveBytes;
      inner.flushForUnload(Math.max(0, KEEPALIVE_BUDGET - othersInFlight));
    };
    const onVisibility = () => doc.visibilityState === 'hidden' && flush();
    doc.addEventListener('visibilitychange', onVisibility);
    globalThis.addEventListener('pagehide', flush);
    unloading.add(inner);
    this.#unlisten = () => {
      unloading.delete(inner);
      doc.removeEventListener('visibilitychange', onVisibility);
      globalThis.removeEventListener('pagehide', flush);
    };
  }

  /**
   * Accept one record; resolves with `{ sequenceNumber, shardId }` once Kinesis stored it, plus
   * `subSequenceNumber` (its index) when it travelled inside an aggregated record.
   */
  put(record) {
    return new Promise((resolve, reject) => {
      this.#stage(record, { resolve, reject });
      this.#schedule();
    });
  }

  /**
   * Accept many records. Resolves with their results in order once all have settled; if any
   * failed, rejects with the first failure, whose `results` holds every record's outcome.
   */
  putMany(records) {
    if (!Array.isArray(records)) {
      return Promise.reject(invalidRecord('putMany takes an array of records'));
    }
    return new Promise((resolve, reject) => {
      const group = new Group(records.length, resolve, reject);
      records.forEach((record, index) => this.#stage(record, { group, index }));
      if (!this.#blocked) this.#commit();
    });
  }

  /** Send everything buffered now; resolves when all of it has settled (either way). */
  async flush() {
    await this.#unstaged();
    this.#inner.flush();
    return this.#settledBelow(this.#nextId);
  }

  /**
   * Refuse new records (`Closed`), send the rest, and resolve when everything has settled. After
   * `timeoutMs` (default: the `closeTimeoutMs` option, 30 s) whatever is still unsettled,
   * waiting, buffered or in flight, settles as failed with `Closed`: nothing stays pending.
   */
  async close({ timeoutMs = this.#closeTimeoutMs } = {}) {
    this.#closing = true;
    let timer;
    const deadline = Number.isFinite(timeoutMs) ? new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs, 'deadline'))) : null;
    const done = (async () => {
      await this.#unstaged();
      this.#inner.close();
      await this.#settledBelow(this.#nextId);
    })();
    const outcome = await Promise.race(deadline ? [done, deadline] : [done]);
    this.#unlisten();
    clearTimeout(this.#drainTimer);
    if (outcome === 'deadline') {
      const closed = () => kinesisError('Closed', 'the producer was closed before the record was delivered (close() deadline passed)');
      for (const target of this.#staged.drain()) this.#deliver(target, closed());
      this.#blocked = false;
      for (const resolve of this.#unstagedWaiters.splice(0)) resolve();
      this.#inner.abandon();
      // abandon() settled everything the core held; nothing may stay pending whatever happened.
      for (const id of [...this.#pending.keys()]) this.#settle(id, closed());
      await done;
    }
    clearTimeout(timer);
    this.#spool?.close();
  }

  /** Counters: records and bytes accepted, sent, acknowledged, failed; requests; buffered now. */
  stats() {
    if (!this.#blocked) this.#commit();
    const stats = this.#inner.stats();
    stats.waitingRecords = this.#staged.length;
    const kinesis = stats.kinesisRecordsAcknowledged;
    stats.recordsPerKinesisRecord = kinesis ? stats.recordsAcknowledged / kinesis : 0;
    return this.#spool ? Object.assign(stats, this.#spool.stats()) : stats;
  }

  #schedule() {
    if (this.#scheduled || this.#blocked) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#commit());
  }

  /** Resolves once every staged record has been taken by the core (or refused). */
  #unstaged() {
    this.#commit();
    if (this.#staged.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#unstagedWaiters.push(resolve));
  }

  #stage(record, target) {
    if (this.#closing) {
      return this.#deliver(target, kinesisError('Closed', 'the producer is closed and takes no new records'));
    }
    let data;
    try {
      data = payload(record);
    } catch (error) {
      return this.#deliver(target, error);
    }
    this.#staged.push(data, record.partitionKey, record.explicitHashKey ?? undefined, target);
  }

  #commit() {
    this.#scheduled = false;
    // Records settle only after their ids are registered and the blocked state is known.
    const firstId = this.#nextId;
    try {
      this.#commitStaged();
    } finally {
      if (this.#nextId !== firstId) this.#inner.pump();
    }
  }

  #commitStaged() {
    while (this.#staged.length > 0) {
      const n = Math.min(this.#staged.length, COMMIT_CHUNK);
      const { datas, keys, hashKeys, targets } = this.#staged.peek(n);
      const { bytes, layout } = this.#batch.encode(datas, keys, hashKeys);
      let answer;
      try {
        answer = this.#inner.putBatch(bytes, layout);
      } catch (error) {
        this.#staged.advance(n);
        for (const target of targets) this.#deliver(target, error);
        continue;
      }
      let id = answer[0];
      let refused = 1;
      let taken = 0;
      let full = false;
      const spooled = [];
      for (let index = 0; index < n; index++, taken++) {
        if (answer[refused] !== index) {
          const target = targets[index];
          if (this.#spool && target.spoolKey !== undefined) this.#spool.track(id, target.spoolKey);
          else if (this.#spool) {
            const data = datas[index];
            spooled.push({ id, data: typeof data === 'string' ? data : data.slice(), partitionKey: keys[index], explicitHashKey: hashKeys[index] });
          }
          this.#pending.set(id++, target);
          continue;
        }
        const error = answer[refused + 1];
        refused += 2;
        if (error.code === 'BufferFull' && this.#waitForRoom) {
          // It and everything after it stay staged, in order, until settling records make room.
          full = true;
          break;
        }
        this.#deliver(targets[index], error);
      }
      this.#nextId = id;
      this.#staged.advance(taken);
      if (spooled.length) this.#spool.add(spooled);
      if (full) {
        this.#blocked = true;
        return;
      }
    }
    this.#blocked = false;
    for (const resolve of this.#unstagedWaiters.splice(0)) resolve();
  }

  #deliver(target, error, value) {
    // A reading from the spool that the producer did not take (buffer full) stays spooled.
    if (target.spoolKey !== undefined) return this.#spool.release(target.spoolKey);
    if (target.group) target.group.settle(target.index, error, value);
    else if (error) target.reject(error);
    else target.resolve(value);
  }

  #settle(id, error, value) {
    const target = this.#pending.get(id);
    if (!target) return;
    this.#pending.delete(id);
    const spooled = this.#spool?.settled(id, Boolean(error) && !REFUSED_FOR_GOOD.has(error.code));
    // While its spool write is still committing, the caller learns whether it is spooled after it.
    if (spooled instanceof Promise) spooled.then((kept) => this.#conclude(target, error, value, kept));
    else this.#conclude(target, error, value, spooled);
    if (this.#waiters.length) this.#wake();
    if (this.#blocked) {
      // A record settled: there may be room for the waiting ones now.
      this.#blocked = false;
      this.#schedule();
    }
  }

  #conclude(target, error, value, spooled) {
    if (spooled) {
      // Not delivered, but kept: it is sent again later (online again, or the next page load).
      error.spooled = true;
      clearTimeout(this.#drainTimer);
      if (!this.#closing) this.#drainTimer = setTimeout(() => this.#drainSpool(), SPOOL_RETRY_MS);
    }
    // A reading from the spool has no caller waiting: the spool has settled it above.
    if (target.spoolKey === undefined) this.#deliver(target, error, value);
  }

  #settledBelow(below) {
    return new Promise((resolve) => {
      this.#waiters.push({ below, resolve });
      this.#wake();
    });
  }

  #wake() {
    // Ids enter #pending in increasing order and Map keeps that order: the first key is the oldest.
    const oldest = this.#pending.size ? this.#pending.keys().next().value : Infinity;
    this.#waiters = this.#waiters.filter((w) => (oldest >= w.below ? (w.resolve(), false) : true));
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
  if (typeof body === 'string') bytes = encoder.encode(body);
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
