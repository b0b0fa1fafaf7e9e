// The reader's unpacking of KPL aggregated records: the magic `F3 89 9A C2`, a protobuf
// `AggregatedRecord`, its MD5 (checked with the core's MD5). Written in JS, not in the core, so
// that pages that only produce do not carry a decoder; the core's tests check its encoder
// against the official decoders.
import { md5 } from './kinesis_edge.js';

const MAGIC = [0xf3, 0x89, 0x9a, 0xc2];
const DIGEST_LEN = 16;
const text = new TextDecoder('utf-8', { fatal: true });

/** Protobuf fields of `bytes` as [number, value] (a varint as a number, else bytes); null when
 * malformed. Only varint and length-delimited fields occur in the format. */
function fields(bytes) {
  const out = [];
  let at = 0;
  const varint = () => {
    let v = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (at >= bytes.length) return null;
      const b = bytes[at++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
    return null;
  };
  while (at < bytes.length) {
    const key = varint();
    if (key === null) return null;
    const type = key % 8;
    if (type === 0) {
      const v = varint();
      if (v === null) return null;
      out.push([Math.floor(key / 8), v]);
    } else if (type === 2) {
      const len = varint();
      if (len === null || len > bytes.length - at) return null;
      out.push([Math.floor(key / 8), bytes.subarray(at, at + len)]);
      at += len;
    } else return null;
  }
  return out;
}

/** One user record from its `Record` message and the tables; null when malformed. */
function userRecord(message, keys, hashKeys) {
  const parts = fields(message);
  if (!parts) return null;
  let key;
  let hashKey;
  let data;
  for (const [n, v] of parts) {
    if (n === 1 && typeof v === 'number') key = v;
    else if (n === 2 && typeof v === 'number') hashKey = v;
    else if (n === 3 && typeof v !== 'number') data = v;
  }
  if (keys[key] === undefined || data === undefined || (hashKey !== undefined && hashKeys[hashKey] === undefined)) return null;
  const out = { partitionKey: keys[key], data: data.slice() };
  if (hashKey !== undefined) out.explicitHashKey = hashKeys[hashKey];
  return out;
}

/** `[{ partitionKey, explicitHashKey?, data }]`, or `null` when `bytes` is not an aggregated record
 * (no magic, a wrong MD5, malformed), which consumers then take as a plain record. */
export function deaggregate(bytes) {
  if (bytes.length < MAGIC.length + DIGEST_LEN || MAGIC.some((b, i) => bytes[i] !== b)) return null;
  const proto = bytes.subarray(MAGIC.length, bytes.length - DIGEST_LEN);
  const digest = md5(proto);
  if (digest.some((b, i) => bytes[bytes.length - DIGEST_LEN + i] !== b)) return null;
  const top = fields(proto);
  if (!top) return null;
  const keys = [];
  const hashKeys = [];
  const messages = [];
  try {
    for (const [n, v] of top) {
      if (typeof v === 'number') continue;
      if (n === 1) keys.push(text.decode(v));
      else if (n === 2) hashKeys.push(text.decode(v));
      else if (n === 3) messages.push(v);
    }
  } catch {
    return null; // a key that is not UTF-8
  }
  const records = messages.map((m) => userRecord(m, keys, hashKeys));
  return records.includes(null) ? null : records;
}
