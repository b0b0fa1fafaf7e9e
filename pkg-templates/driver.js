// The driver: what is JavaScript's in the producer's loop. It sends the requests the core asks
// for (hash, sign, transport), hands back the answers, keeps one timer at the time the core wants
// to be woken, calls the credentials provider when the core wants credentials, and reports what
// the core settled. It decides nothing itself: every rule is the core's.
import { digest } from './host.js';
import { toCoreJson } from './options.js';

// Kinds of events `drain()` found (the boundary's `outbox` bits).
const CREDENTIALS_WANTED = 4;
const CLOSED = 16;

const describe = (e) => String(e?.message ?? e).slice(0, 300);

export class Driver {
  #core;
  #url;
  #send;
  #provider;
  #events;
  /** Request id -> its AbortController, while it is on its way. */
  #controllers = new Map();
  #timer = null;
  #timerAt = -1;
  /** Body bytes of this producer's keepalive requests on their way (the page has 64 KiB). */
  keepaliveBytes = 0;

  /**
   * `send`: the transport; `provider`: the credentials function, if any; `events`:
   * `{ acked(acks, strings, ends), failed(id, error, spoolFate), closed() }`.
   */
  constructor(core, { url, send, provider, events }) {
    this.#core = core;
    this.#url = url;
    this.#send = send;
    this.#provider = provider;
    this.#events = events;
  }

  /** Send what is due, report what settled, and set the timer. */
  pump() {
    const core = this.#core;
    const now = Date.now();
    for (let id; (id = core.pollTransmit(now)) >= 0; ) {
      const body = core.takeBody();
      const hash = digest(body);
      if (typeof hash === 'string') this.#dispatch(id, body, core.sign(id, hash, undefined, now), false);
      else hash.then((h) => (this.#dispatch(id, body, this.#core.sign(id, h, undefined, Date.now()), false), this.#settle()));
    }
    this.#settle();
  }

  /** The page is going away: send what fits `budget` keepalive bytes, signed now. */
  unload(budget) {
    const core = this.#core;
    const now = Date.now();
    for (let id; (id = core.pollUnloadTransmit(now, budget - this.keepaliveBytes)) >= 0; ) {
      const body = core.takeBody();
      this.#dispatch(id, body, core.sign(id, undefined, body, now), true);
    }
    this.#settle();
  }

  /** `headers`: what `sign` gave (`undefined`: not to be sent). */
  #dispatch(id, body, headers, keepalive) {
    if (headers === undefined) return;
    const lines = headers.split('\n');
    const init = {};
    for (let i = 0; i < lines.length; i += 2) init[lines[i]] = lines[i + 1];
    const controller = new AbortController();
    this.#controllers.set(id, controller);
    const held = keepalive ? body.length : 0;
    this.keepaliveBytes += held;
    const done = () => {
      this.#controllers.delete(id);
      this.keepaliveBytes -= held;
    };
    let sent;
    try {
      sent = this.#send(this.#url, init, body, controller.signal, keepalive);
    } catch (e) {
      sent = Promise.reject(e);
    }
    Promise.resolve(sent).then(
      (answer) => {
        done();
        this.#core.handleAnswer(id, answer.status, answer.date, answer.errorType, answer.body, Date.now());
        this.pump();
      },
      (error) => {
        done();
        // A request the core aborted has been given up on already: this changes nothing there.
        this.#core.handleNetworkError(id, describe(error), Date.now());
        this.pump();
      },
    );
  }

  /** Report what the core settled, act on its other events, and set the timer. */
  #settle() {
    const core = this.#core;
    // [kinds, n, acks..., n, string ends..., n, failed..., n, aborts...]
    const events = core.drain();
    let at = 1;
    const part = () => {
      const start = at + 1;
      at = start + events[at];
      return events.subarray(start, at);
    };
    const acks = part();
    const ends = part();
    const failed = part();
    const aborts = part();
    if (acks.length) this.#events.acked(acks, core.ackStrings(), ends);
    for (let i = 0; i < failed.length; i += 3) this.#events.failed(failed[i], core.failure(failed[i + 1]), failed[i + 2]);
    for (const id of aborts) this.#controllers.get(id)?.abort();
    if (events[0] & CREDENTIALS_WANTED) this.#askForCredentials();
    if (events[0] & CLOSED) this.#events.closed();
    this.#arm();
  }

  #askForCredentials() {
    let answer;
    try {
      answer = Promise.resolve(this.#provider());
    } catch (e) {
      answer = Promise.reject(e);
    }
    answer.then(
      (credentials) => this.#core.setCredentials(toCoreJson(credentials ?? null), Date.now()),
      (error) => this.#core.credentialsFailed(describe(error), Date.now()),
    ).then(() => this.pump());
  }

  /** One timer, due when the core next wants to be woken; none when it does not (a pending
   * timer would keep a Node process alive). */
  #arm() {
    const at = this.#core.pollTimeout();
    if (at === this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer =
      at < 0
        ? null
        : setTimeout(() => {
            this.#timerAt = -1;
            this.pump();
          }, Math.max(0, at - Date.now()));
  }

  /** Stop the timer for good (the producer is closed). */
  stop() {
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = -1;
  }
}
