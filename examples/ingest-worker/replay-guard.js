// ReplayGuard: a Durable Object per device (idFromName(device id)) holding the webhook-ids that
// device used within the timestamp window. One instance per device runs one call at a time over
// its own strongly consistent SQLite storage, so "seen before?" and "remember it" are a single
// atomic step: two copies of a request racing through different isolates or colos cannot both
// pass. KV could not do this (eventually consistent: a replay sent to another colo within ~60 s
// would pass), and an isolate's memory is one of many.
import { DurableObject } from 'cloudflare:workers';
import { TOLERANCE_SECONDS } from './auth.js';

// A claim is pending until its request's readings are on the queue (then committed). A copy
// arriving meanwhile (the device resending after a timeout) is asked to send again later, not
// told 409 "already received": the first attempt may still fail. A claim whose request never
// committed nor released (the worker stopped in between) lapses after `PENDING_MS`.
const PENDING_MS = 30_000;

export class ReplayGuard extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // pending_until: NULL once committed.
    this.sql.exec('CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, expires INTEGER NOT NULL, pending_until INTEGER)');
  }

  /**
   * 'new' when `id` is new for this device (now claimed, pending, and remembered until its
   * timestamp leaves the window, after which the timestamp check refuses it anyway); 'seen' for
   * a replay of a request whose readings were queued; 'pending' while that request is on its way.
   */
  claim(id, timestampSeconds) {
    const now = Date.now();
    this.sql.exec('DELETE FROM seen WHERE expires <= ? OR pending_until <= ?', now, now);
    const [row] = this.sql.exec('SELECT pending_until FROM seen WHERE id = ?', id).toArray();
    if (row) return row.pending_until === null ? 'seen' : 'pending';
    this.sql.exec('INSERT INTO seen (id, expires, pending_until) VALUES (?, ?, ?)', id, (timestampSeconds + TOLERANCE_SECONDS) * 1000 + 1000, now + PENDING_MS);
    return 'new';
  }

  /** The request's readings are on the queue: from now on a copy is a replay. */
  commit(id) {
    this.sql.exec('UPDATE seen SET pending_until = NULL WHERE id = ?', id);
  }

  /** Forget `id`: its request was not taken, so the device's retry with the same id must pass. */
  release(id) {
    this.sql.exec('DELETE FROM seen WHERE id = ?', id);
  }
}
