// Records as the core takes them: many in one buffer, with three lengths each (data, partition
// key, explicit hash key), so that a batch crosses into wasm in one call. The JS side only turns
// JS values into bytes; every rule about keys and sizes is the core's.
import { kinesisError } from './errors.js';

/** The length that marks "no explicit hash key". */
const NONE = 0xffffffff;
const encoder = new TextEncoder();

export const invalidRecord = (why, extra) => kinesisError('InvalidRecord', `invalid record: ${why}`, extra);

export function asBytes(value) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return null;
}

/** The record's data as bytes or text, or throws InvalidRecord for what is no record at all. */
export function payload(record) {
  if (record === null || typeof record !== 'object') {
    throw invalidRecord('expected { data, partitionKey?, explicitHashKey? }');
  }
  const { data, partitionKey, explicitHashKey } = record;
  // Absent: only an AUTO stream takes it, which the core knows.
  if (partitionKey !== undefined && partitionKey !== null && typeof partitionKey !== 'string') {
    throw invalidRecord('partitionKey must be a string');
  }
  if (explicitHashKey !== undefined && explicitHashKey !== null && typeof explicitHashKey !== 'string') {
    throw invalidRecord('explicitHashKey must be a string');
  }
  if (typeof data === 'string') return data;
  const bytes = asBytes(data);
  if (bytes) return bytes;
  let json;
  try {
    json = JSON.stringify(data);
  } catch (cause) {
    throw invalidRecord(`data is not JSON-serialisable (${cause.message})`, { cause });
  }
  if (json === undefined) throw invalidRecord('data must be bytes, a string or a JSON-serialisable value');
  return json;
}

/** Encodes staged records into one reusable buffer (the bytes are copied into wasm at once, so
 * every producer of a page or isolate shares one: a worker makes a producer per request). */
class Encoder {
  #buffer = new Uint8Array(1 << 16);

  /** Room for `needed` bytes, keeping the first `kept`. */
  #room(needed, kept = 0) {
    if (needed <= this.#buffer.length) return;
    const grown = new Uint8Array(Math.max(needed, this.#buffer.length * 2));
    grown.set(this.#buffer.subarray(0, kept));
    this.#buffer = grown;
  }

  /**
   * `datas` (strings or bytes), `keys`, `hashKeys` (string or undefined), from `start` to `end`:
   * `{ bytes, lengths }`. When every piece is text, one `encodeInto` of the joined text does it,
   * and when that text is ASCII (bytes written equal its length, the usual case of JSON readings)
   * the lengths are the strings' lengths.
   */
  encode(datas, keys, hashKeys, start, end) {
    const n = end - start;
    const lengths = new Uint32Array(n * 3);
    let text = '';
    let allText = true;
    for (let i = start; i < end && allText; i++) {
      if (typeof datas[i] !== 'string') allText = false;
      else text += datas[i] + keys[i] + (hashKeys[i] ?? '');
    }
    if (allText) {
      this.#room(text.length * 3);
      const { written } = encoder.encodeInto(text, this.#buffer);
      if (written === text.length) {
        for (let i = start, o = 0; i < end; i++, o += 3) {
          lengths[o] = datas[i].length;
          lengths[o + 1] = keys[i].length;
          lengths[o + 2] = hashKeys[i] === undefined ? NONE : hashKeys[i].length;
        }
        return { bytes: this.#buffer.subarray(0, written), lengths };
      }
    }
    let at = 0;
    const put = (value) => {
      if (typeof value === 'string') {
        this.#room(at + value.length * 3, at);
        const { written } = encoder.encodeInto(value, this.#buffer.subarray(at));
        at += written;
        return written;
      }
      this.#room(at + value.byteLength, at);
      this.#buffer.set(value, at);
      at += value.byteLength;
      return value.byteLength;
    };
    for (let i = start, o = 0; i < end; i++, o += 3) {
      lengths[o] = put(datas[i]);
      lengths[o + 1] = put(keys[i]);
      lengths[o + 2] = hashKeys[i] === undefined ? NONE : put(hashKeys[i]);
    }
    return { bytes: this.#buffer.subarray(0, at), lengths };
  }
}

export const recordEncoder = new Encoder();
