// KinesisProducer: the public face. It turns records into bytes for the core, keeps the promise
// of every record until the core settles it, and wires the page lifecycle and the offline spool.
// Batching, limits, retries, the buffer bound and the close deadline are the core's.
import { ProducerCore, layout } from './kinesis_edge.js';
import { kinesisError } from './errors.js';
import { toCoreJson } from './options.js';
import { payload, invalidRecord, recordEncoder } from './records.js';
import { Driver } from './driver.js';
import { fetchTransport, host } from './host.js';
import { listenToLifecycle, listenForOnline } from './lifecycle.js';

// Read from the core on first use: the entry point initialises the wasm after this module loads.
let names;
const statsLayout = () => {
  if (!names) {
    const lines = layout().split('\n');
    const gap = lines.indexOf('');
    names = { stats: lines.slice(0, gap), codes: lines.slice(gap + 1) };
  }
  return names;
};
/** Records cross into wasm at most this many at a time. */
const COMMIT_CHUNK = 512;
/** How long a failed record's promise waits to learn whether IndexedDB kept its copy. */
const SPOOL_ANSWER_MS = 2_000;

/** Settles a `putMany` call once every one of its records has settled. */
class Group {
  constructor(size, resolve, reject) {
    this.values = new Array(size);
    /** index -> error, for the records that failed (none, usually). */
    this.errors = null;
    this.remaining = size;
    this.resolve = resolve;
    this.reject = reject;
    if (size === 0) resolve([]);
  }

  settle(index, error, value) {
    if (error) (this.errors ??= new Map()).set(index, error);
    else this.values[index] = value;
    if (--this.remaining > 0) return;
    if (!this.errors) return this.resolve(this.values);
    const results = Array.from(this.values, (value, i) =>
      this.errors.has(i) ? { status: 'rejected', reason: this.errors.get(i) } : { status: 'fulfilled', value },
    );
    // A copy: the first failure's error may be shared with other records and calls.
    const first = results.find((o) => o.status === 'rejected').reason;
    this.reject(Object.assign(new Error(first.message), first, { results }));
  }
}

/** A promise's callbacks, as a one-record target. */
class Single {
  constructor(resolve, reject) {
    this.resolve = resolve;
    this.reject = reject;
  }

  settle(_index, error, value) {
    if (error) this.reject(error);
    else this.resolve(value);
  }
}

/** Targets of records the core holds, by id: ids are consecutive, so an array from `base`. */
class Pending {
  #base = 0;
  #start = 0;
  #targets = [];
  #indexes = [];
  #live = 0;

  add(target, index) {
    this.#targets.push(target);
    this.#indexes.push(index);
    this.#live++;
  }

  /** Remove and settle the target of record `id`; false if there is none. */
  settle(id, error, value) {
    const i = id - this.#base;
    const target = this.#targets[i];
    if (target === undefined) return false;
    const index = this.#indexes[i];
    this.#targets[i] = undefined;
    this.#live--;
    while (this.#start < this.#targets.length && this.#targets[this.#start] === undefined) this.#start++;
    if (this.#start > 4096 && this.#start * 2 > this.#targets.length) {
      this.#targets = this.#targets.slice(this.#start);
      this.#indexes = this.#indexes.slice(this.#start);
      this.#base += this.#start;
      this.#start = 0;
    }
    target.settle(index, error, value);
    return true;
  }

  /** The oldest id still pending (Infinity: none). */
  get oldest() {
    return this.#live ? this.#base + this.#start : Infinity;
  }
}

export class KinesisProducer {
  #core;
  #driver;
  #pending = new Pending();
  /** Records given to put() and not yet handed to the core (parallel arrays). */
  #datas = [];
  #keys = [];
  #hashKeys = [];
  #targets = [];
  #indexes = [];
  #scheduled = false;
  /** The id the core gives the next record it takes. */
  #nextId = 0;
  /** flush() callers waiting until every id below `below` has settled. */
  #waiters = [];
  #closing = false;
  #closed = null;
  #unlisten = [];
  /** `spool: 'indexeddb'`: the link to the spool once its module has loaded. */
  #spool = null;
  /** `metrics`: the promise of the metrics link, and the link once loaded (`null`: it could not
   * load); `#context`: the Worker's, from useContext. */
  #metrics = null;
  #metricsLink = null;
  #context = null;

  constructor(options) {
    if (options === null || typeof options !== 'object') {
      throw kinesisError('InvalidOption', 'invalid option `options`: must be an object', { field: 'options' });
    }
    const core = new ProducerCore(toCoreJson(options), Math.random() * 2 ** 53, Date.now());
    const settings = JSON.parse(core.host());
    const send = settings.customFetch ? fetchTransport(options.fetch) : (host.transport ?? defaultTransport)();
    const refuse = (field, why) => {
      core.free();
      throw kinesisError('InvalidOption', `invalid option \`${field}\`: ${why}`, { field });
    };
    if (!send) refuse('fetch', 'no global fetch in this runtime; pass the fetch option');
    // Web Locks tell which page loads are gone; without them, tabs would send each other's readings.
    if (settings.spool && (typeof globalThis.indexedDB?.open !== 'function' || typeof globalThis.navigator?.locks?.request !== 'function')) {
      refuse('spool', "must be 'indexeddb', where IndexedDB and Web Locks exist (a secure context)");
    }
    this.#core = core;
    this.#driver = new Driver(core, {
      url: settings.url,
      send,
      provider: settings.provider ? options.credentials : null,
      events: {
        acked: (acks, strings, ends) => this.#acked(acks, strings, ends),
        failed: (id, error, fate) => this.#failed(id, error, fate),
        closed: () => this.#closed?.(),
      },
    });
    if (settings.lifecycle) {
      this.#unlisten.push(
        listenToLifecycle(this.#driver, () => {
          if (this.#closing && core.isIdle()) return false;
          this.#commit();
          return true;
        }),
      );
    }
    this.#unlisten.push(
      listenForOnline(() => {
        core.networkRestored();
        this.#driver.pump();
        this.#spool?.online();
      }),
    );
    if (settings.spool) this.#openSpool(settings.spool);
    // Loaded only when asked for, as the spool is.
    // A chunk that cannot load (offline, not cached) publishes nothing and never fails close().
    if (settings.metrics) {
      this.#metrics = host.loadMetrics().then(
        ({ linkMetrics }) => (this.#metricsLink = linkMetrics(core, send, () => this.#driver.pump(), settings.metrics, () => this.#context)),
        () => null,
      );
    }
  }

  /**
   * Workers: the execution context (`ctx` of `fetch` or `queue`) of the request or batch that
   * uses the producer now. Metrics uploads run under its `waitUntil`; returns the producer.
   */
  useContext(ctx) {
    this.#context = ctx;
    return this;
  }

  #openSpool({ maxBytes, name }) {
    // Loaded only when asked for, so that pages without a spool do not carry it.
    this.#spool = import('./spool.js').then(
      ({ linkSpool }) =>
        linkSpool({
          name,
          maxBytes,
          resend: (entries) => {
            if (this.#closing) return false;
            for (const e of entries) this.#stage(e.data, e.partitionKey, e.explicitHashKey, { spoolKey: e.key, settle() {} }, 0);
            this.#commit();
            return true;
          },
        }),
      // The chunk could not be loaded (offline, and not cached): nothing is spooled, and says why.
      unusableSpool,
    );
    // Until the link is there, its calls wait in order behind the load.
    this.#spool = deferred(this.#spool);
  }

  /**
   * Accept one record; resolves with `{ sequenceNumber, shardId }` once Kinesis stored it, plus
   * `subSequenceNumber` (its index) when it travelled inside an aggregated record.
   */
  put(record) {
    return new Promise((resolve, reject) => {
      this.#take(record, new Single(resolve, reject), 0);
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => this.#commit());
      }
    });
  }

  /**
   * Accept many records. Resolves with their results in order once all have settled; if any
   * failed, rejects with the first failure, whose `results` holds every record's outcome.
   */
  putMany(records) {
    if (!Array.isArray(records)) return Promise.reject(invalidRecord('putMany takes an array of records'));
    return new Promise((resolve, reject) => {
      const group = new Group(records.length, resolve, reject);
      for (let i = 0; i < records.length; i++) this.#take(records[i], group, i);
      this.#commit();
    });
  }

  /** Send everything buffered now; resolves when all of it has settled (either way). */
  flush() {
    this.#commit();
    this.#core.flush();
    this.#driver.pump();
    return new Promise((resolve) => {
      this.#waiters.push({ below: this.#nextId, resolve });
      this.#wake();
    });
  }

  /**
   * Refuse new records (`Closed`), send the rest, and resolve when everything has settled. After
   * `timeoutMs` (default: the `closeTimeoutMs` option, 30 s) whatever is still unsettled,
   * waiting, buffered or in flight, settles as failed with `Closed`: nothing stays pending.
   */
  async close({ timeoutMs } = {}) {
    if (!this.#closedAll) {
      this.#commit();
      // Throws InvalidOption for a bad timeoutMs, before anything has changed.
      this.#core.close(timeoutMs, Date.now());
      this.#closing = true;
      const closed = new Promise((resolve) => (this.#closed = resolve));
      this.#driver.pump();
      this.#closedAll = closed.then(() => {
        this.#driver.stop();
        for (const unlisten of this.#unlisten) unlisten();
        this.#spool?.close();
        return this.#metrics?.then((m) => m?.close());
      });
    }
    await this.#closedAll;
  }

  #closedAll = null;

  /** Counters: records and bytes accepted, sent, acknowledged, failed; requests; buffered now. */
  stats() {
    this.#commit();
    const core = this.#core;
    const names = statsLayout();
    const stats = {};
    const numbers = core.stats(Date.now());
    const n = names.stats.length;
    for (let i = 0; i < n; i++) stats[names.stats[i]] = Number.isNaN(numbers[i]) ? null : numbers[i];
    stats.failuresByCode = {};
    for (let i = 0; i < names.codes.length; i++) if (numbers[n + i]) stats.failuresByCode[names.codes[i]] = numbers[n + i];
    const [aggregation, note, streamNote] = core.statsText().split('\n');
    stats.aggregation = aggregation;
    stats.aggregationNote = note || null;
    stats.streamNote = streamNote || null;
    if (this.#metricsLink) Object.assign(stats, this.#metricsLink.stats());
    return this.#spool ? Object.assign(stats, this.#spool.stats()) : stats;
  }

  /** Stage `record` for the core, or settle `target` at once if it is refused here. */
  #take(record, target, index) {
    if (this.#closing) return target.settle(index, kinesisError('Closed', 'the producer is closed and takes no new records'));
    let data;
    try {
      data = payload(record);
    } catch (error) {
      return target.settle(index, error);
    }
    this.#stage(data, record.partitionKey ?? '', record.explicitHashKey ?? undefined, target, index);
  }

  #stage(data, key, hashKey, target, index) {
    this.#datas.push(data);
    this.#keys.push(key);
    this.#hashKeys.push(hashKey);
    this.#targets.push(target);
    this.#indexes.push(index);
  }

  /** Hand the staged records to the core, register the ids it gave, and pump. */
  #commit() {
    this.#scheduled = false;
    const n = this.#targets.length;
    if (n === 0) return;
    const [datas, keys, hashKeys, targets, indexes] = [this.#datas, this.#keys, this.#hashKeys, this.#targets, this.#indexes];
    this.#datas = [];
    this.#keys = [];
    this.#hashKeys = [];
    this.#targets = [];
    this.#indexes = [];
    const now = Date.now();
    for (let start = 0; start < n; start += COMMIT_CHUNK) {
      const end = Math.min(n, start + COMMIT_CHUNK);
      const { bytes, lengths } = recordEncoder.encode(datas, keys, hashKeys, start, end);
      const taken = this.#core.put(bytes, lengths, now);
      let id = taken[0];
      let refused = 1;
      // With a spool, what was taken is written to it (or, for a spooled reading, tracked).
      const accepted = this.#spool ? [] : null;
      for (let i = start, k = 0; i < end; i++) {
        if (taken[refused] === i - start) {
          // Refused by the core: settled now, never given an id.
          const error = this.#core.refusal(k++);
          refused++;
          if (targets[i].spoolKey !== undefined) this.#spool?.release(targets[i].spoolKey);
          else targets[i].settle(indexes[i], error);
          continue;
        }
        this.#pending.add(targets[i], indexes[i]);
        accepted?.push({ id, key: targets[i].spoolKey, data: datas[i], partitionKey: keys[i], explicitHashKey: hashKeys[i] });
        id++;
      }
      this.#nextId = id;
      if (accepted) this.#spool.accepted(accepted);
    }
    this.#driver.pump();
    this.#metricsLink?.tick();
  }

  #acked(acks, strings, ends) {
    const cache = [];
    const text = (i) => (cache[i] ??= strings.slice(i ? ends[i - 1] : 0, ends[i]));
    for (let k = 0; k < acks.length; k += 4) {
      const sequenceNumber = text(acks[k + 1]);
      const shardId = text(acks[k + 2]);
      const sub = acks[k + 3];
      // Set only for records carried inside an aggregated Kinesis record.
      const result = sub < 0 ? { sequenceNumber, shardId } : { sequenceNumber, shardId, subSequenceNumber: sub };
      this.#settle(acks[k], undefined, result);
    }
    this.#wake();
  }

  /** `fate`: what the spool does with its copy, as the core says (`SpoolFate`). */
  #failed(id, error, fate) {
    const spooled = this.#spool?.failed(id, fate);
    if (spooled instanceof Promise) {
      // While its spool write is still committing, the caller learns whether it is spooled after
      // it; an IndexedDB that never answers does not hold the record's promise for ever.
      const gaveUp = new Promise((resolve) => setTimeout(resolve, SPOOL_ANSWER_MS, false));
      Promise.race([spooled, gaveUp]).then((kept) => this.#settleFailed(id, error, kept));
    } else this.#settleFailed(id, error, spooled);
  }

  #settleFailed(id, error, spooled) {
    // Not delivered, but kept: it is sent again later (online again, or the next page load).
    if (spooled) error.spooled = true;
    this.#settle(id, error);
    this.#wake();
  }

  #settle(id, error, value) {
    if (this.#spool && error === undefined) this.#spool.delivered(id);
    this.#pending.settle(id, error, value);
  }

  #wake() {
    const oldest = this.#pending.oldest;
    if (this.#waiters.length) this.#waiters = this.#waiters.filter((w) => (oldest >= w.below ? (w.resolve(), false) : true));
  }
}

/** The runtime's global `fetch`, as a transport (`null` where there is none). */
function defaultTransport() {
  const fetch = globalThis.fetch;
  return typeof fetch === 'function' ? fetchTransport((url, init) => fetch.call(globalThis, url, init)) : null;
}

/** The spool of a producer whose spool module could not be loaded: it keeps nothing. */
function unusableSpool(error) {
  const why = `${error?.name ?? 'Error'}: ${error?.message ?? error}`;
  const nothing = () => {};
  return { accepted: nothing, delivered: nothing, failed: () => false, release: nothing, online: nothing, close: nothing, stats: () => ({ spoolError: why }) };
}

/** An object whose method calls wait for `promise`'s value, all in the order they were made;
 * `stats()` answers at once (nothing until the value is there). */
function deferred(promise) {
  let value = null;
  let waiting = [];
  promise.then((v) => {
    for (const call of waiting) call(v);
    waiting = null;
    value = v;
  });
  const later = (method) => (...args) =>
    value ? value[method](...args) : new Promise((resolve) => waiting.push((v) => resolve(v[method](...args))));
  return {
    accepted: later('accepted'),
    delivered: later('delivered'),
    failed: later('failed'),
    release: later('release'),
    online: later('online'),
    close: later('close'),
    stats: () => (value ? value.stats() : {}),
  };
}
