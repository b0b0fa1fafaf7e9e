// ReplayGuard: a Durable Object per device (idFromName(device id)) holding the webhook-ids that
// device used within the timestamp window. One instance per device runs one call at a time over
// its own strongly consistent SQLite storage, so "seen before?" and "remember it" are a single
// atomic step: two copies of a request racing through different isolates or colos cannot both
// pass. KV could not do this (eventually consistent: a replay sent to another colo within ~60 s
// would pass), and an isolate's memory is one of many.
import { DurableObject } from 'cloudflare:workers';
import { TOLERANCE_SECONDS } from './auth.js';

export class ReplayGuard extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec('CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, expires INTEGER NOT NULL)');
  }

  /**
   * True when `id` is new for this device (and is now remembered until its timestamp leaves the
   * window, after which the timestamp check refuses it anyway); false for a replay.
   */
  claim(id, timestampSeconds) {
    const now = Date.now();
    this.sql.exec('DELETE FROM seen WHERE expires <= ?', now);
    if (this.sql.exec('SELECT 1 FROM seen WHERE id = ?', id).toArray().length > 0) return false;
    this.sql.exec('INSERT INTO seen (id, expires) VALUES (?, ?)', id, (timestampSeconds + TOLERANCE_SECONDS) * 1000 + 1000);
    return true;
  }

  /** Forget `id`: its request was not enqueued, so the device's retry with the same id must pass. */
  release(id) {
    this.sql.exec('DELETE FROM seen WHERE id = ?', id);
  }
}
