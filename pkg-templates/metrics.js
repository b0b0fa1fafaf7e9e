// CloudWatch metrics (`metrics.level` other than 'none'): the uploads of what the core gathers.
// Loaded only by producers that publish metrics, so other pages do not carry it. The core
// decides what is due (at most once per interval; everything at close()), retries a failed call
// once at the next interval and counts what it drops; this module only times and sends the
// calls, apart from the data path (its own requests, never its buffer, backoff or retries).

import { metricsAnswered, metricsCloseBy, metricsDueAt, metricsFailed, metricsPoll, metricsStats } from './kinesis_edge.js';

const describe = (e) => String(e?.message ?? e).slice(0, 300);

/**
 * `send`: the producer's transport; `pump()`: lets the producer act on what the core asked
 * (credentials, when the metrics found none to sign with); `url`, `timeoutMs`: where and how long
 * a call may take; `context()`: the Worker's execution context given to `useContext(ctx)`, if
 * any. Without one a timer wakes at the end of each interval (one that does not keep Node
 * running); with one, every put and close() checks whether the interval has ended, and the
 * upload runs under the current request's `ctx.waitUntil`, since no I/O may outlive its request
 * there.
 */
export function linkMetrics(core, send, pump, { url, timeoutMs }, context) {
  let timer = null;
  let uploading = null;
  let closed = false;
  /** Calls on their way: aborted at close()'s deadline. */
  const onTheirWay = new Set();
  /** How long a call may take now: the request timeout, and close()'s deadline once closing. */
  const timeLeft = () => Math.min(timeoutMs, metricsCloseBy(core) - Date.now());

  const call = (out, ms) => {
    const [id, ...lines] = out.split('\n');
    const headers = {};
    for (let i = 0; i < lines.length; i += 2) headers[lines[i]] = lines[i + 1];
    const body = core.takeBody();
    const abort = new AbortController();
    onTheirWay.add(abort);
    let sent;
    try {
      sent = send(url, headers, body, AbortSignal.any([abort.signal, AbortSignal.timeout(ms)]), false);
    } catch (e) {
      sent = Promise.reject(e);
    }
    return Promise.resolve(sent)
      .then(
        (answer) => metricsAnswered(core, +id, answer.status, answer.body, Date.now()),
        (error) => metricsFailed(core, +id, describe(error), Date.now()),
      )
      .finally(() => onTheirWay.delete(abort));
  };

  /** Send every call due (`force`: all that is gathered), once at a time per producer. */
  const upload = (force) =>
    (uploading ??= (async () => {
      const calls = [];
      // Forced once: the core then ends the interval as soon as the calls ready have gone.
      for (let out, ms; (ms = timeLeft()) > 0 && (out = metricsPoll(core, Date.now(), force)) !== undefined; force = false) calls.push(call(out, ms));
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
      try {
        timer = setTimeout(() => {
          timer = null;
          pump();
          upload(false);
        }, Math.max(0, at - now));
        timer.unref?.();
      } catch {
        // A Worker's global scope allows no timers: the requests' puts will look instead.
      }
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
      // Within close()'s deadline: then calls still on their way are aborted.
      const left = metricsCloseBy(core) - Date.now();
      let wake;
      const deadline = left === Infinity ? null : new Promise((r) => (wake = setTimeout(r, Math.max(0, left))));
      const within = (p) => (deadline ? Promise.race([p, deadline]) : p);
      await within(uploading);
      await within(upload(true));
      clearTimeout(wake);
      for (const abort of onTheirWay) abort.abort();
    },
  };
}
