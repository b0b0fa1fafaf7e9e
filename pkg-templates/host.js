// What the runtime gives the package: a SHA-256 and a transport. The entry point of a runtime
// that has better ones than the global `fetch` and WebCrypto (Node) installs them here.
import { sha256 } from './kinesis_edge.js';

export const host = {
  /** A synchronous `(bytes) => hex`, where the runtime has one (node:crypto). */
  sha256: null,
  /** `(fetchOption) => send`: the transport when the caller gives no `fetch`. */
  transport: null,
  /** `() => import('./metrics.js')`, set by the `kinesis-edge/metrics` entries only, so that the
   * default entries' pages do not reach the metrics chunk (nor the glue it uses) at all. */
  loadMetrics: null,
};

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const hex = (buffer) => {
  let out = '';
  for (const b of new Uint8Array(buffer)) out += HEX[b];
  return out;
};

/** SHA-256 of `bytes` as hex: the runtime's digest (a string, or a promise of one from
 * WebCrypto), or the core's where there is none (a plain-http page has no `crypto.subtle`) or
 * where WebCrypto fails. */
export function digest(bytes) {
  if (host.sha256) return host.sha256(bytes);
  const subtle = globalThis.crypto?.subtle;
  return subtle ? subtle.digest('SHA-256', bytes).then(hex, () => sha256(bytes)) : sha256(bytes);
}

/**
 * A transport over a `fetch`: `send(url, headers, body, signal, keepalive)` resolves with
 * `{ status, date, errorType, body }` (`date`: the `Date` header in epoch ms, NaN if none).
 */
export function fetchTransport(fetch) {
  return async (url, headers, body, signal, keepalive) => {
    const init = { method: 'POST', headers, body, signal };
    if (keepalive) init.keepalive = true;
    const response = await fetch(url, init);
    const answer = new Uint8Array(await response.arrayBuffer());
    const header = (name) => response.headers?.get(name) ?? undefined;
    return { status: response.status, date: Date.parse(header('date')), errorType: header('x-amzn-errortype'), body: answer };
  };
}
