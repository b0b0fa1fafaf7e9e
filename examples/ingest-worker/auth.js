// Device authentication for the ingest worker. A device proves itself with either
//   - `X-Device-Id: <id>` and `X-Signature: sha256=<hex HMAC-SHA256 of the body with its secret>`, or
//   - `Authorization: Bearer <its token>`.
// Devices come from the DEVICES secret: {"<id>": {"secret": "...", "token": "...", "schema": "..."}}.
// Nothing here ever echoes a secret, a token or a signature back to the caller or the log.

const encoder = new TextEncoder();

const hex = (bytes) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
const sha256Hex = async (text) => hex(await crypto.subtle.digest('SHA-256', encoder.encode(text)));

/**
 * The DEVICES secret, parsed once per isolate (it does not change while the isolate lives).
 * Tokens are indexed by their SHA-256, so that looking one up reveals nothing about the token
 * through timing.
 */
let cached;
async function deviceRegistry(env) {
  if (!cached || cached.source !== env.DEVICES) {
    let devices;
    try {
      devices = typeof env.DEVICES === 'string' ? JSON.parse(env.DEVICES) : (env.DEVICES ?? {});
    } catch {
      // JSON.parse quotes the text around a syntax error, which may be part of a secret.
      throw new Error('ingest: the DEVICES secret is not valid JSON');
    }
    const byTokenHash = new Map();
    for (const [id, device] of Object.entries(devices)) {
      if (device.token) byTokenHash.set(await sha256Hex(device.token), id);
    }
    cached = { source: env.DEVICES, devices, byTokenHash };
  }
  return cached;
}

/** Compare in time independent of where the inputs differ. */
function timingSafeEqual(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

function hexToBytes(hex) {
  if (!/^(?:[0-9a-f]{2})+$/i.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

async function hmacSha256(secret, body) {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, body));
}

/**
 * The device that sent `body`, as `{ id, schema }`, or `null` when the request is not
 * authenticated (unknown device, wrong or missing signature or token).
 */
export async function authenticate(headers, body, env) {
  const { devices, byTokenHash } = await deviceRegistry(env);
  const bearer = /^Bearer +(\S+)$/i.exec(headers.get('authorization') ?? '');
  if (bearer) {
    const id = byTokenHash.get(await sha256Hex(bearer[1]));
    return id ? { id, schema: devices[id].schema } : null;
  }
  const id = headers.get('x-device-id');
  const signature = /^sha256=([0-9a-fA-F]{64})$/.exec(headers.get('x-signature') ?? '');
  const device = id !== null && Object.hasOwn(devices, id) ? devices[id] : undefined;
  if (!device?.secret || !signature) return null;
  const expected = await hmacSha256(device.secret, body);
  const presented = hexToBytes(signature[1]);
  return presented && timingSafeEqual(presented, expected) ? { id, schema: device.schema } : null;
}
