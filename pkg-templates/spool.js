// The offline spool (`spool: 'indexeddb'`): every accepted reading is also written to IndexedDB
// and removed only once Kinesis has acknowledged it (or refused it for good), so readings that a
// closed page, a crash, an outage or being offline kept from Kinesis are sent later: when the
// browser comes back online, or on the next page load. At least once: a reading whose answer was
// lost (the page closed mid-request) is sent again.
//
// Several tabs may share a spool. Each page load owns what it writes, holding a Web Lock named
// after itself while it lives; a page adopts (and sends) only readings whose owner is gone,
// under an exclusive lock, so no two tabs send the same leftovers.

const STORE = 'records';
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

export class Spool {
  #db;
  #owner = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  #name;
  #maxBytes;
  /** Producer record id -> spool key (a promise until its write commits). */
  #keys = new Map();
  /** Our spooled readings not in the producer now (expired, closed): sent at the next pass. */
  #dormant = new Set();
  /** Writes and deletes run in order: a reading's delete never overtakes its write. */
  #queue = Promise.resolve();
  #stats = { spooledRecords: 0, spooledBytes: 0, spoolOverflowRecords: 0, spoolResent: 0 };

  constructor({ name, maxBytes }) {
    this.#name = name;
    this.#maxBytes = maxBytes;
    const locks = globalThis.navigator?.locks;
    // Held until the page goes away: tells other tabs this load's readings are in hand.
    locks?.request(`${name}:owner:${this.#owner}`, () => new Promise(() => {}));
    this.ready = this.#open();
  }

  async #open() {
    const request = indexedDB.open(this.#name, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { autoIncrement: true });
    this.#db = await done(request);
    // Size and count of what earlier loads left behind count against the cap.
    const tx = this.#db.transaction(STORE, 'readonly');
    const all = await done(tx.objectStore(STORE).getAll());
    for (const entry of all) {
      this.#stats.spooledRecords += 1;
      this.#stats.spooledBytes += entry.size;
    }
  }

  stats() {
    return { ...this.#stats };
  }

  #enqueue(work) {
    this.#queue = this.#queue.then(() => this.ready).then(work).catch(() => {});
    return this.#queue;
  }

  /** Write newly accepted readings `[{ id, data, partitionKey, explicitHashKey }]`. */
  add(records) {
    const room = [];
    for (const r of records) {
      const size = (typeof r.data === 'string' ? r.data.length : r.data.byteLength) + r.partitionKey.length;
      if (this.#stats.spooledBytes + size > this.#maxBytes) {
        this.#stats.spoolOverflowRecords += 1;
        continue;
      }
      // Bytes are reserved at once (the cap); records count once their write has committed.
      this.#stats.spooledBytes += size;
      room.push({ ...r, size });
    }
    if (!room.length) return;
    const written = this.#enqueue(async () => {
      const tx = this.#db.transaction(STORE, 'readwrite');
      const store = tx.objectStore(STORE);
      const keys = room.map(({ id, ...entry }) => done(store.add({ ...entry, owner: this.#owner, at: Date.now() })));
      await committed(tx);
      this.#stats.spooledRecords += room.length;
      return Promise.all(keys);
    });
    room.forEach((r, i) => this.#keys.set(r.id, written.then((keys) => keys?.[i])));
  }

  /** A spooled reading (adopted, or dormant) was accepted again under `id`. */
  track(id, key) {
    this.#dormant.delete(key);
    this.#keys.set(id, key);
  }

  /** A reading taken from the spool could not be accepted again (buffer full): keep it dormant. */
  release(key) {
    this.#dormant.add(key);
  }

  /** Record `id` settled: `keep` leaves it spooled for a later pass, else it is removed. */
  settled(id, keep) {
    const key = this.#keys.get(id);
    if (key === undefined) return false;
    this.#keys.delete(id);
    if (keep) {
      Promise.resolve(key).then((k) => k !== undefined && this.#dormant.add(k));
      return true;
    }
    this.#enqueue(async () => {
      const k = await key;
      if (k === undefined) return;
      const tx = this.#db.transaction(STORE, 'readwrite');
      const store = tx.objectStore(STORE);
      const entry = await done(store.get(k));
      if (!entry) return;
      store.delete(k);
      await committed(tx);
      this.#stats.spooledRecords -= 1;
      this.#stats.spooledBytes -= entry.size;
    });
    return false;
  }

  /**
   * Readings to send again, oldest first: our dormant ones, and those of page loads that are gone
   * (taken over by this one). `[{ key, data, partitionKey, explicitHashKey }]`.
   */
  async leftovers() {
    await this.ready;
    await this.#queue;
    const locks = globalThis.navigator?.locks;
    const take = async () => {
      const held = locks ? (await locks.query()).held.map((l) => l.name) : [];
      const alive = (owner) => owner === this.#owner || held.includes(`${this.#name}:owner:${owner}`);
      const tx = this.#db.transaction(STORE, 'readwrite');
      const store = tx.objectStore(STORE);
      const out = [];
      await new Promise((resolve, reject) => {
        const cursor = store.openCursor();
        cursor.onerror = () => reject(cursor.error);
        cursor.onsuccess = () => {
          const c = cursor.result;
          if (!c || out.length >= ADOPT_BATCH) return resolve();
          const entry = c.value;
          const mine = entry.owner === this.#owner && this.#dormant.has(c.key);
          if (mine || !alive(entry.owner)) {
            if (!mine) c.update({ ...entry, owner: this.#owner });
            out.push({ key: c.key, data: entry.data, partitionKey: entry.partitionKey, explicitHashKey: entry.explicitHashKey });
          }
          c.continue();
        };
      });
      await committed(tx);
      this.#stats.spoolResent += out.length;
      return out;
    };
    // One tab at a time takes over another's leftovers.
    return locks ? locks.request(`${this.#name}:adopt`, take) : take();
  }
}
