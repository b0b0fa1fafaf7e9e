// signDeviceRequest: the headers a device sends to sign a request per the Standard Webhooks
// specification (HMAC-SHA256 of "<id>.<timestamp>.<body>" with a `whsec_` secret), plus the
// device id that names the secret. WebCrypto only, so it runs wherever the package does.
import { kinesisError } from './errors.js';

const encoder = new TextEncoder();
const SECRET = /^whsec_([A-Za-z0-9+/]+={0,2})$/;
// Standard Webhooks ids are opaque strings; the signed content is "<id>.<ts>.<body>", so a
// dot or a space in one would make two ids sign alike or break the header.
const ID = /^[A-Za-z0-9_\-]{1,128}$/;

const invalid = (field, reason) => kinesisError('InvalidOption', `invalid option \`${field}\`: ${reason}`, { field });

const base64 = (bytes) => btoa(String.fromCharCode(...bytes));

function secretBytes(secret) {
  const match = typeof secret === 'string' ? SECRET.exec(secret) : null;
  // Never quote the secret in the message.
  const refused = () => invalid('secret', 'must be a Standard Webhooks secret, "whsec_" and base64');
  if (!match) throw refused();
  try {
    return Uint8Array.from(atob(match[1]), (c) => c.charCodeAt(0));
  } catch {
    throw refused(); // base64 of a wrong length
  }
}

function seconds(timestamp) {
  if (timestamp === undefined) return Math.floor(Date.now() / 1000);
  if (timestamp instanceof Date && Number.isFinite(timestamp.getTime())) return Math.floor(timestamp.getTime() / 1000);
  // Epoch seconds as in the header; milliseconds (Date.now()) would be 1000 times too far ahead.
  if (Number.isSafeInteger(timestamp) && timestamp >= 0 && timestamp < 1e11) return timestamp;
  throw invalid('timestamp', 'must be a Date or whole epoch seconds');
}

function bodyBytes(body) {
  if (typeof body === 'string') return encoder.encode(body);
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  throw invalid('body', 'must be the exact string or bytes sent');
}

function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return 'msg_' + base64(bytes).replace(/\+/g, '-').replace(/\//g, '_');
}

/**
 * Sign a device's request: resolves to the headers `webhook-id`, `webhook-timestamp`,
 * `webhook-signature` (`v1,<base64>`) and `x-device-id`. `id` defaults to a random `msg_…`;
 * send the same id when retrying the same body, so the receiver can drop the duplicate.
 */
export async function signDeviceRequest({ deviceId, secret, body, id, timestamp } = {}) {
  if (typeof deviceId !== 'string' || deviceId === '' || /[\s\0-\x1f]/.test(deviceId)) {
    throw invalid('deviceId', 'must be a non-empty string without spaces or control characters');
  }
  const messageId = id ?? randomId();
  if (typeof messageId !== 'string' || !ID.test(messageId)) throw invalid('id', 'must be 1 to 128 of [A-Za-z0-9_-]');
  const key = secretBytes(secret);
  const ts = String(seconds(timestamp));
  const data = bodyBytes(body);
  const prefix = encoder.encode(`${messageId}.${ts}.`);
  const content = new Uint8Array(prefix.length + data.length);
  content.set(prefix);
  content.set(data, prefix.length);
  const hmac = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const signature = new Uint8Array(await crypto.subtle.sign('HMAC', hmac, content));
  return { 'webhook-id': messageId, 'webhook-timestamp': ts, 'webhook-signature': `v1,${base64(signature)}`, 'x-device-id': deviceId };
}
