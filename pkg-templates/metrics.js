// CloudWatch metrics (`metrics.level` other than 'none'): the uploads of what the core gathers.
// Loaded only by producers that publish metrics, so other pages do not carry it. The core
// decides what is due (at most once per interval; everything at close()), retries a failed call
// once at the next interval and counts what it drops; this module only times and sends the
// calls, apart from the data path (its own requests, never its buffer, backoff or retries).

import { metricsAnswered, metricsCloseBy, metricsDueAt, metricsFailed, metricsPoll, metricsStats } from './kinesis_edge.js';

const describe = (e) => String(e?.message ?? e).slice(0, 300);

/**
 * `send`: the producer's transport; `url`, `timeoutMs`: where and how long a call may take;
 * `context()`: the Worker's execution context given to `useContext(ctx)`, if any. Without one a
 * timer wakes at the end of each interval (one that does not keep Node running); with one, every
 * put and close() checks whether the interval has ended, and the upload runs under the current
 * request's `ctx.waitUntil`, since no I/O may outlive its request there.
 */
export function linkMetrics(core, send, { url, timeoutMs }, context) {
  let timer = null;
  let uploading = null;
  let closed = false;

  const call = (out) => {
    const [id, ...lines] = out.split('\n');
    const headers = {};
    for (let i = 0; i < lines.length; i += 2) headers[lines[i]] = lines[i + 1];
    const body = core.takeBody();
    let sent;
    try {
      // Each call within the request timeout and, once the producer closes, close()'s deadline.
      const left = Math.max(0, Math.min(timeoutMs, metricsCloseBy(core) - Date.now()));
      sent = send(url, headers, body, AbortSignal.timeout(left), false);
    } catch (e) {
      sent = Promise.reject(e);
    }
    return Promise.resolve(sent).then(
      (answer) => metricsAnswered(core, +id, answer.status, answer.body, Date.now()),
      (error) => metricsFailed(core, +id, describe(error), Date.now()),
    );
  };

  /** Send every call due (`force`: all that is gathered), once at a time per producer. */
  const upload = (force) =>
    (uploading ??= (async () => {
      const calls = [];
      // Forced once: the calls after the first are the rest of the same interval.
      for (let out; (out = metricsPoll(core, Date.now(), force)) !== undefined; force = false) calls.push(call(out));
      await Promise.all(calls);
    })().finally(() => {
      uploading = null;
      tick();
    }));

  function tick() {
    if (closed) return;
    const now = Date.now();
    const at = metricsDueAt(core, now);
    const ctx = context();
    if (ctx) {
      if (at <= now) ctx.waitUntil(upload(false));
    } else if (timer === null) {
      timer = setTimeout(() => {
        timer = null;
        upload(false);
      }, Math.max(0, at - now));
      timer.unref?.();
    }
  }

  tick();
  return {
    tick,
    /** `stats()`'s `metrics*` fields. */
    stats: () => JSON.parse(metricsStats(core, Date.now())),
    /** The producer has closed: publish what is pending now, except in a Worker, whose isolate
     * keeps gathering for its next requests. */
    async close() {
      if (context()) return tick();
      closed = true;
      clearTimeout(timer);
      // A call already on its way is waited for until close()'s deadline at most.
      const left = metricsCloseBy(core) - Date.now();
      let wake;
      const deadline = left === Infinity ? null : new Promise((r) => (wake = setTimeout(r, Math.max(0, left))));
      const within = (p) => (deadline ? Promise.race([p, deadline]) : p);
      await within(uploading);
      await within(upload(true));
      clearTimeout(wake);
    },
  };
}
