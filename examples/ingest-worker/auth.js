// Device authentication for the ingest worker. Every request names its device (`x-device-id`)
// and proves it with either
//   - a Standard Webhooks signature: `webhook-id`, `webhook-timestamp` (epoch seconds, at most
//     5 minutes off) and `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`
//     (several space-separated during a rotation), verified with each of the device's secrets; or
//   - `Authorization: Bearer <token>`, whose SHA-256 is one of the device's `tokenHashes`. A token
//     is replayable by whoever holds it: no timestamp, no id; prefer signatures.
// Nothing here ever echoes a secret, a token or a signature back to the caller or the log.
import { signDeviceRequest } from 'kinesis-edge';
import { DEVICE_ID, lookupDevice } from './registry.js';

export const TOLERANCE_SECONDS = 300;
const encoder = new TextEncoder();

const hex = (bytes) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');

/** Compare in time independent of where the inputs differ. */
function timingSafeEqual(a, b) {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  if (x.length !== y.length) return false;
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

const refuse = (status, error) => ({ status, error });
// One answer for an unknown device and a wrong signature: device ids are not enumerable.
const UNAUTHENTICATED = refuse(401, 'unauthenticated: sign the request (x-device-id, webhook-id, webhook-timestamp, webhook-signature) or send a bearer token');

async function verifyWebhook(headers, body, deviceId, device, now) {
  const id = headers.get('webhook-id');
  const timestamp = headers.get('webhook-timestamp');
  const presented = (headers.get('webhook-signature') ?? '').split(' ').filter((s) => s.startsWith('v1,'));
  // Digits as the signer writes them (no leading zero): the signature covers the text as sent.
  if (!id || !/^[1-9]\d{0,10}$/.test(timestamp ?? '') || presented.length === 0) return UNAUTHENTICATED;
  const ts = Number(timestamp);
  let signed = false;
  for (const secret of device.secrets ?? []) {
    let expected;
    try {
      // The package's device signer computes the same signature the device did.
      expected = (await signDeviceRequest({ deviceId, secret, body, id, timestamp: ts }))['webhook-signature'];
    } catch {
      // An id outside the allowed characters, or one malformed secret: the others still count.
      console.error(`ingest: device ${deviceId}: a secret or the webhook-id is malformed`);
      continue;
    }
    if (presented.some((p) => timingSafeEqual(p, expected))) {
      signed = true;
      break;
    }
  }
  if (!signed) return UNAUTHENTICATED;
  // Told only to a request the device signed: nobody else learns which device ids exist.
  if (!(Math.abs(now / 1000 - ts) <= TOLERANCE_SECONDS)) {
    return refuse(401, `webhook-timestamp must be within ${TOLERANCE_SECONDS} s of the server's clock (now ${Math.floor(now / 1000)})`);
  }
  return { webhookId: id, replayGuarded: true };
}

async function verifyBearer(token, device) {
  const hash = hex(await crypto.subtle.digest('SHA-256', encoder.encode(token)));
  // A fresh id still marks this request's readings, so consumers can drop queue redeliveries.
  if ((device.tokenHashes ?? []).some((h) => timingSafeEqual(h, hash))) return { webhookId: `req_${crypto.randomUUID()}`, replayGuarded: false };
  return UNAUTHENTICATED;
}

/**
 * The request's device and id, `{ device: { id, schema }, webhookId, replayGuarded }`, or a
 * refusal `{ status, error }`: 401 (unknown device, bad signature or token, stale timestamp)
 * or 403 (a disabled device that authenticated).
 */
export async function authenticate(headers, body, env, now = Date.now()) {
  const deviceId = headers.get('x-device-id');
  if (!deviceId || !DEVICE_ID.test(deviceId)) return UNAUTHENTICATED;
  const device = await lookupDevice(env, deviceId);
  if (!device) return UNAUTHENTICATED;
  const bearer = /^Bearer +(\S+)$/i.exec(headers.get('authorization') ?? '');
  const proof = bearer ? await verifyBearer(bearer[1], device) : await verifyWebhook(headers, body, deviceId, device, now);
  if (proof.status) return proof;
  if (device.disabled) return refuse(403, 'this device is disabled');
  return { device: { id: deviceId, schema: device.schema }, ...proof };
}
