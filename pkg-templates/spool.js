// The offline spool (`spool: 'indexeddb'`): every accepted reading is also written to IndexedDB
// and removed only once Kinesis has acknowledged it (or refused it for good), so readings that a
// closed page, a crash, an outage or being offline kept from Kinesis are sent later: when the
// browser comes back online, or on the next page load. At least once: a reading whose answer was
// lost (the page closed mid-request) is sent again.
//
// Several tabs may share a spool. Each page load owns what it writes, holding a Web Lock named
// after itself while it lives; a page adopts (and sends) only readings whose owner is gone,
// under an exclusive lock, so no two tabs send the same leftovers. A tab that sees another
// tab's readings waits on that tab's lock, and adopts them as soon as it is gone.
//
// The size cap is the whole spool's, across tabs: its size is kept in the database and checked
// in the same transaction that writes, so no two tabs can both take the last room.

const RECORDS = 'records';
const META = 'meta';
/** The META entry holding `{ bytes, count }` of everything in RECORDS. */
const SIZE = 'size';
/** Leftovers taken per pass, so a large spool drains in steps the buffer can hold. */
const ADOPT_BATCH = 2_000;

const done = (request) =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
const committed = (tx) =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = tx.onabort = () => reject(tx.error);
  });

/** UTF-8 length of a string, without encoding it. */
function utf8Length(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00) {
      n += 4; // a surrogate pair: one 4-byte character
      i++;
    } else n += 3;
  }
  return n;
}

const sizeOf = ({ data, partitionKey }) => (typeof data === 'string' ? utf8Length(data) : data.byteLength) + utf8Length(partitionKey);

export class Spool {
  #db = null;
  #owner = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  #name;
  #maxBytes;
  #onOwnerGone;
  /** Producer record id -> spool key (a promise until its write has committed). */
  #keys = new Map();
  /** Our spooled readings not in the producer now (expired, closed): sent at the next pass. */
  #dormant = new Set();
  /** Ours refused for a reason this page cannot fix (`SpoolFate.Later`): sent once back online,
   * else by a later page load. */
  #held = new Set();
  /** Keys whose delete is due, removed together in the next transaction. */
  #doomed = [];
  /** Transactions run in order: a reading's delete never overtakes its write. */
  #queue = Promise.resolve();
  /** The whole spool, as of this page's last transaction. */
  #size = { bytes: 0, count: 0 };
  #stats = { spoolOverflowRecords: 0, spoolResent: 0 };
  /** Why the spool is not usable (IndexedDB refused), shown in stats. */
  #error = null;
  #releaseOwner = () => {};
  #closed = false;
  /** Other page loads whose lock this one waits on, to adopt their readings once they are gone. */
  #watched = new Set();
  #stopWatching = new AbortController();

  /** `onOwnerGone()` runs when a page load whose readings are in the spool has gone. */
  constructor({ name, maxBytes, onOwnerGone }) {
    this.#name = name;
    this.#maxBytes = maxBytes;
    this.#onOwnerGone = onOwnerGone;
    // Held until the page goes away (or close()): tells other tabs this load's readings are in hand.
    const owned = new Promise((granted) => {
      navigator.locks.request(this.#lockOf(this.#owner), () => {
        granted();
        return this.#closed ? undefined : new Promise((release) => (this.#releaseOwner = release));
      });
    });
    /** Resolves true once usable, false if IndexedDB refused (then nothing is spooled). */
    this.ready = owned.then(() => this.#open());
  }

  #lockOf(owner) {
    return `${this.#name}:owner:${owner}`;
  }

  async #open() {
    try {
      const request = indexedDB.open(this.#name, 1);
      request.onupgradeneeded = () => {
        request.result.createObjectStore(RECORDS, { autoIncrement: true });
        request.result.createObjectStore(META).put({ bytes: 0, count: 0 }, SIZE);
      };
      this.#db = await done(request);
      const tx = this.#db.transaction(META, 'readonly');
      this.#size = await done(tx.objectStore(META).get(SIZE));
      return true;
    } catch (error) {
      this.#error = error;
      return false;
    }
  }

  stats() {
    const stats = { spooledRecords: this.#size.count, spooledBytes: this.#size.bytes, ...this.#stats };
    if (this.#error) stats.spoolError = `${this.#error.name ?? 'Error'}: ${this.#error.message ?? this.#error}`;
    return stats;
  }

  /** Runs `work(tx)` in a transaction over both stores, after the ones before it; resolves with its
   * result once committed, or with undefined if the spool is unusable or the transaction failed. */
  #transact(mode, work) {
    const run = this.#queue
      .then(() => this.ready)
      .then(async (usable) => {
        if (!usable) return undefined;
        const tx = this.#db.transaction([RECORDS, META], mode);
        const size = await done(tx.objectStore(META).get(SIZE));
        const result = await work(tx.objectStore(RECORDS), size);
        if (mode === 'readwrite') tx.objectStore(META).put(size, SIZE);
        await committed(tx);
        this.#size = size;
        return result;
      })
      .catch((error) => {
        this.#error = error;
        return undefined;
      });
    this.#queue = run;
    return run;
  }

  /** Write newly accepted readings `[{ id, data, partitionKey, explicitHashKey }]`; those past the
   * cap (or all, if IndexedDB fails) stay in memory only and are counted. */
  add(records) {
    const written = this.#transact('readwrite', (store, size) => {
      const requests = records.map((r) => {
        const bytes = sizeOf(r);
        if (size.bytes + bytes > this.#maxBytes) return undefined;
        size.bytes += bytes;
        size.count += 1;
        const { data, partitionKey, explicitHashKey } = r;
        return done(store.add({ data, partitionKey, explicitHashKey, size: bytes, owner: this.#owner, at: Date.now() }));
      });
      const keys = Promise.all(requests);
      keys.catch(() => {}); // an aborted transaction rejects them all; #transact reports it
      return keys;
    });
    const settledKeys = written.then((keys) => {
      const kept = keys ? keys.filter((k) => k !== undefined).length : 0;
      this.#stats.spoolOverflowRecords += records.length - kept;
      return keys;
    });
    records.forEach(({ id }, i) => {
      const key = settledKeys.then((keys) => {
        const k = keys?.[i];
        // Once known, the key replaces the promise (unless the record has settled meanwhile).
        if (this.#keys.get(id) === key) k === undefined ? this.#keys.delete(id) : this.#keys.set(id, k);
        return k;
      });
      this.#keys.set(id, key);
    });
  }

  /** A spooled reading (adopted, or dormant) was accepted again under `id`. */
  track(id, key) {
    this.#keys.set(id, key);
  }

  /** Held readings may be sent again (the browser is back online). */
  wake() {
    for (const key of this.#held) this.#dormant.add(key);
    this.#held.clear();
  }

  /** A reading taken from the spool was not accepted again (buffer full, closed): keep it dormant. */
  release(key) {
    this.#dormant.add(key);
  }

  /**
   * Record `id` settled: `keep` leaves it spooled, else it is removed; kept and `hold`, it waits
   * for `wake()` (back online) or a later page load rather than the next pass. Returns whether it
   * stays spooled: a boolean, or a promise of one while its write is still pending.
   */
  settled(id, keep, hold = false) {
    const key = this.#keys.get(id);
    if (key === undefined) return false;
    this.#keys.delete(id);
    if (keep) {
      const keepDormant = (k) => {
        if (k === undefined) return false;
        (hold ? this.#held : this.#dormant).add(k);
        return true;
      };
      return typeof key === 'number' ? keepDormant(key) : key.then(keepDormant);
    }
    Promise.resolve(key).then((k) => k !== undefined && this.#remove(k));
    return false;
  }

  #remove(key) {
    if (this.#doomed.push(key) > 1) return;
    this.#transact('readwrite', async (store, size) => {
      for (const k of this.#doomed.splice(0)) {
        const entry = await done(store.get(k));
        if (!entry) continue;
        store.delete(k);
        size.bytes -= entry.size;
        size.count -= 1;
      }
    });
  }

  /**
   * Readings to send again, oldest first: our dormant ones, and those of page loads that are gone
   * (taken over by this one). `[{ key, data, partitionKey, explicitHashKey }]`; none if unusable.
   */
  async leftovers() {
    if (!(await this.ready)) return [];
    const locks = navigator.locks;
    // One tab at a time takes over another's leftovers.
    const taken = await locks.request(`${this.#name}:adopt`, async () => {
      // A load always holds its lock before it writes, so an entry written before this snapshot by
      // a load that held no lock in it belongs to a load that is gone.
      const asOf = Date.now();
      const held = new Set((await locks.query()).held.map((l) => l.name));
      const gone = (entry) => entry.at < asOf && !held.has(this.#lockOf(entry.owner));
      return this.#transact('readwrite', (store) => {
        const out = [];
        return new Promise((resolve, reject) => {
          const cursor = store.openCursor();
          cursor.onerror = () => reject(cursor.error);
          cursor.onsuccess = () => {
            const c = cursor.result;
            if (!c || out.length >= ADOPT_BATCH) return resolve(out);
            const entry = c.value;
            const mine = entry.owner === this.#owner;
            if (mine ? this.#dormant.has(c.key) : gone(entry)) {
              if (!mine) c.update({ ...entry, owner: this.#owner });
              out.push({ key: c.key, data: entry.data, partitionKey: entry.partitionKey, explicitHashKey: entry.explicitHashKey });
            } else if (!mine) this.#watch(entry.owner);
            c.continue();
          };
        });
      });
    });
    if (!taken) return [];
    // Handed out: they are dormant again only if the producer cannot take them (release()).
    for (const { key } of taken) this.#dormant.delete(key);
    this.#stats.spoolResent += taken.length;
    return taken;
  }

  /** Adopt `owner`'s readings as soon as that page load is gone (its lock becomes free). */
  #watch(owner) {
    if (this.#watched.has(owner) || this.#closed) return;
    this.#watched.add(owner);
    navigator.locks.request(this.#lockOf(owner), { signal: this.#stopWatching.signal }, () => {}).then(
      () => {
        this.#watched.delete(owner);
        this.#onOwnerGone();
      },
      () => {},
    );
  }

  /** The producer is closed: what it left here becomes adoptable by other tabs and later loads. */
  close() {
    this.#closed = true;
    this.#stopWatching.abort();
    this.#releaseOwner();
  }
}

/** A reading that settled unsent but spooled is tried again this much later (or when online). */
const SPOOL_RETRY_MS = 5_000;
/** What the core says becomes of a failed reading's copy (`SpoolFate` in src/core/model/error.rs). */
const DROP = 1;
const LATER = 2;

/**
 * The producer's side of the spool, loaded only by producers with `spool: 'indexeddb'`.
 * `resend(entries)` hands leftovers back to the producer (false once it is closing).
 */
export function linkSpool({ name, maxBytes, resend }) {
  let closing = false;
  let draining = false;
  let again = false;
  let retryTimer;
  const spool = new Spool({ name, maxBytes, onOwnerGone: () => drain() });

  /** Send again what the spool holds and this page does not: leftovers of closed pages, and
   * this page's readings that settled unsent (expired while offline, say). */
  async function drain() {
    if (closing) return;
    // A call during a pass (another tab has gone, say) runs one more pass after it.
    if (draining) return void (again = true);
    draining = true;
    again = false;
    try {
      const entries = await spool.leftovers();
      if (!resend(entries)) {
        // Adopted as the producer closed: left for other tabs and later loads.
        for (const entry of entries) spool.release(entry.key);
        return;
      }
      // A large spool drains in passes.
      if (entries.length) retryLater();
    } finally {
      draining = false;
      if (again) drain();
    }
  }

  function retryLater() {
    clearTimeout(retryTimer);
    if (!closing) retryTimer = setTimeout(drain, SPOOL_RETRY_MS);
  }

  spool.ready.then(drain);
  return {
    /** Records the producer took, `[{ id, key, data, partitionKey, explicitHashKey }]`: leftovers
     * sent again (`key` set) are tracked, new readings written. */
    accepted(records) {
      const fresh = [];
      for (const { id, key, data, partitionKey, explicitHashKey } of records) {
        if (key !== undefined) spool.track(id, key);
        else fresh.push({ id, data: typeof data === 'string' ? data : data.slice(), partitionKey, explicitHashKey });
      }
      if (fresh.length) spool.add(fresh);
    },
    /** Record `id` was stored by Kinesis: its copy goes. */
    delivered: (id) => void spool.settled(id, false),
    /** Record `id` failed; `fate`: the core's `SpoolFate`. Whether it stays spooled: a boolean,
     * or a promise of one while its write commits. */
    failed(id, fate) {
      const kept = spool.settled(id, fate !== DROP, fate === LATER);
      if (fate === LATER) return kept;
      const retry = (k) => (k && retryLater(), k);
      return kept instanceof Promise ? kept.then(retry) : retry(kept);
    },
    release: (key) => spool.release(key),
    online() {
      spool.wake();
      drain();
    },
    close() {
      closing = true;
      clearTimeout(retryTimer);
      spool.close();
    },
    stats: () => spool.stats(),
  };
}
