// Consumers' unpacking of KPL aggregated records: the magic `F3 89 9A C2`, a protobuf
// `AggregatedRecord`, its MD5 (checked with the core's MD5). Written in JS, not in the core, so
// that pages that only produce do not carry a decoder; the core's tests check its encoder
// against the official decoders. `deaggregate` is the public function (Lambda, GetRecords, the
// AWS SDK); the reader uses its parts, with its own rule for malformed aggregates.
import { md5 } from './kinesis_edge.js';
import { kinesisError } from './errors.js';

const MAGIC = [0xf3, 0x89, 0x9a, 0xc2];
const DIGEST_LEN = 16;
const text = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();
const isHashKey = (v) => typeof v === 'string' && /^(0|[1-9]\d{0,38})$/.test(v) && BigInt(v) < 2n ** 128n;

/** Base64 text as bytes (Kinesis JSON and Lambda events carry record data so). */
export function decodeBase64(base64) {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

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

/** One user record from its `Record` message and the tables; a string saying why when malformed. */
function userRecord(message, keys, hashKeys, index) {
  const parts = fields(message);
  if (!parts) return `user record ${index} is not protobuf`;
  let key;
  let hashKey;
  let data;
  for (const [n, v] of parts) {
    if (n === 1 && typeof v === 'number') key = v;
    else if (n === 2 && typeof v === 'number') hashKey = v;
    else if (n === 3 && typeof v !== 'number') data = v;
  }
  if (keys[key] === undefined) return `user record ${index} names partition key ${key} of ${keys.length}`;
  if (hashKey !== undefined && hashKeys[hashKey] === undefined) return `user record ${index} names explicit hash key ${hashKey} of ${hashKeys.length}`;
  if (data === undefined) return `user record ${index} has no data`;
  if (hashKey !== undefined && !isHashKey(hashKeys[hashKey])) return `user record ${index} has an explicit hash key that is not one`;
  const out = { partitionKey: keys[key], data: data.slice() };
  if (hashKey !== undefined) out.explicitHashKey = hashKeys[hashKey];
  return out;
}

/**
 * What a Kinesis record's bytes hold, by the KCL's rule: `null` for a plain record (no magic, or
 * an MD5 that does not match), `{ records: [{ partitionKey, explicitHashKey?, data }] }` for an
 * aggregate, `{ malformed: why }` when the MD5 matches but the body does not decode.
 */
export function unpackAggregate(bytes) {
  // As the KCL: an aggregate has at least one byte of protobuf.
  if (bytes.length <= MAGIC.length + DIGEST_LEN || MAGIC.some((b, i) => bytes[i] !== b)) return null;
  const proto = bytes.subarray(MAGIC.length, bytes.length - DIGEST_LEN);
  const digest = md5(proto);
  if (digest.some((b, i) => bytes[bytes.length - DIGEST_LEN + i] !== b)) return null;
  const top = fields(proto);
  if (!top) return { malformed: 'the AggregatedRecord is not protobuf' };
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
    return { malformed: 'a key in its tables is not UTF-8' };
  }
  const records = messages.map((m, i) => userRecord(m, keys, hashKeys, i));
  const malformed = records.find((r) => typeof r === 'string');
  return malformed ? { malformed } : { records };
}

/**
 * The user records a Kinesis record (`{ data, partitionKey?, explicitHashKey?, sequenceNumber,
 * arrivedAt? }`) carries, given what `unpackAggregate` said of it: itself when plain, else one
 * per user record with its `subSequenceNumber`.
 */
export function userRecords(kinesis, unpacked) {
  const { data, partitionKey, explicitHashKey, sequenceNumber, arrivedAt } = kinesis;
  const made = (fields) => {
    const out = { data: fields.data };
    if (fields.partitionKey !== undefined) out.partitionKey = fields.partitionKey;
    if (fields.explicitHashKey !== undefined) out.explicitHashKey = fields.explicitHashKey;
    out.sequenceNumber = sequenceNumber;
    if (fields.subSequenceNumber !== undefined) out.subSequenceNumber = fields.subSequenceNumber;
    if (arrivedAt !== undefined) out.arrivedAt = arrivedAt;
    return out;
  };
  if (!unpacked?.records) return [made({ data, partitionKey, explicitHashKey })];
  return unpacked.records.map((u, i) => made({ ...u, subSequenceNumber: i }));
}

/** A Lambda event record (`{ kinesis: { data, ... } }`), a GetRecords JSON record (`Data`
 * base64) or an AWS SDK record (`Data` bytes), as the fields `userRecords` takes. */
export function kinesisRecord(record, index) {
  const k = record?.kinesis ?? record;
  const field = (name) => k?.[name] ?? k?.[name[0].toUpperCase() + name.slice(1)];
  const sequenceNumber = field('sequenceNumber');
  const named = `records[${index}]${sequenceNumber === undefined ? '' : ` (sequence number ${sequenceNumber})`}`;
  const given = field('data');
  let data;
  if (typeof given === 'string') {
    try {
      data = decodeBase64(given);
    } catch {
      throw kinesisError('InvalidRecord', `deaggregate: ${named} has data that is not base64`, { sequenceNumber });
    }
  } else if (ArrayBuffer.isView(given)) data = new Uint8Array(given.buffer, given.byteOffset, given.byteLength);
  else throw kinesisError('InvalidRecord', `deaggregate: ${named} is not a Kinesis record: it has no data (kinesis.data, Data)`, { sequenceNumber });
  // Lambda and GetRecords JSON give epoch seconds, the AWS SDK a Date.
  const arrival = field('approximateArrivalTimestamp');
  const arrivedAt = arrival instanceof Date ? arrival.getTime() : typeof arrival === 'number' ? Math.round(arrival * 1000) : undefined;
  return { data, partitionKey: field('partitionKey'), explicitHashKey: field('explicitHashKey'), sequenceNumber, arrivedAt, named };
}

/** A hash key range's bounds as BigInts; `InvalidOption` when they are not hash keys. */
function hashRange(range) {
  const bound = (name) => {
    if (!isHashKey(range?.[name])) {
      throw kinesisError('InvalidOption', `hashKeyRange.${name} must be a decimal string from 0 to 2^128-1`, { field: 'hashKeyRange' });
    }
    return BigInt(range[name]);
  };
  const [start, end] = [bound('startingHashKey'), bound('endingHashKey')];
  if (start > end) throw kinesisError('InvalidOption', 'hashKeyRange.startingHashKey is above its endingHashKey', { field: 'hashKeyRange' });
  return [start, end];
}

/** The hash key that places a user record: its explicit hash key, else the MD5 of its
 * partition key's UTF-8 bytes read as a 128-bit big-endian integer. */
function hashKeyOf({ partitionKey, explicitHashKey }) {
  if (explicitHashKey !== undefined) return BigInt(explicitHashKey);
  let key = 0n;
  for (const b of md5(encoder.encode(partitionKey))) key = (key << 8n) | BigInt(b);
  return key;
}

/** Whether an aggregate (`unpackAggregate`'s answer) holds a user record whose hash key lies
 * outside the shard's `[start, end]` (BigInts): stored on a shard it does not belong to (a
 * reshard, an AUTO stream). The KCL drops such an aggregate, and producers that notice (the
 * KPL, this package's) send its user records again. */
export function misplaced(unpacked, [start, end]) {
  return Boolean(unpacked?.records?.some((u) => {
    const key = hashKeyOf(u);
    return key < start || key > end;
  }));
}

/**
 * The user records of Kinesis records, in order: aggregated records unpacked, plain records
 * (no magic, or a checksum that does not match, as the KCL has it) passed through. An aggregate
 * whose checksum matches but whose body does not decode throws `MalformedAggregate` naming it
 * (`error.sequenceNumber`). With `hashKeyRange` (the shard's, decimal strings), an aggregate
 * holding a user record whose hash key lies outside it is dropped whole, as the KCL does.
 */
export function deaggregate(records, { hashKeyRange } = {}) {
  if (!Array.isArray(records)) {
    throw kinesisError('InvalidRecord', 'deaggregate takes an array of Kinesis records (a Lambda event\'s `Records`, GetRecords\' `Records`)');
  }
  const range = hashKeyRange === undefined ? null : hashRange(hashKeyRange);
  const out = [];
  records.forEach((record, index) => {
    const kinesis = kinesisRecord(record, index);
    const unpacked = unpackAggregate(kinesis.data);
    if (unpacked?.malformed) {
      throw kinesisError('MalformedAggregate', `deaggregate: ${kinesis.named} is an aggregated record whose checksum matches, but ${unpacked.malformed}`, {
        sequenceNumber: kinesis.sequenceNumber,
      });
    }
    if (range && misplaced(unpacked, range)) return;
    for (const user of userRecords(kinesis, unpacked)) out.push(user);
  });
  return out;
}
