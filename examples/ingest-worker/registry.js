// The device registry: Workers KV namespace DEVICES, key = device id, value =
// `{ "secrets": ["whsec_..."], "tokenHashes": ["<hex SHA-256 of a bearer token>"], "schema": "thermometer", "disabled": false }`.
// Entries are cached per isolate for DEVICE_CACHE_MS (30 s), unknown ids too, so a flood of
// requests naming the same unknown or known device costs one KV read per isolate per period,
// not one per request. Rotating, disabling or adding a device takes effect within that period
// plus KV's own propagation (up to 60 s).
import { positiveInteger } from './settings.js';

/** What a device id may be: short enough for a KV key (512 bytes) and safe to name in a log line. */
export const DEVICE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

// Bounded, so a flood of distinct made-up ids cannot grow an isolate's memory without limit.
const MAX_CACHED = 10_000;
const cache = new Map(); // id -> { device: object | null, until: ms }

/**
 * The entry for `id`, or `null` when no such device is registered (or its value is unusable).
 * A failing KV read throws and is not cached: one outage must not lock devices out for a period.
 */
export async function lookupDevice(env, id) {
  const now = Date.now();
  const hit = cache.get(id);
  if (hit && hit.until > now) return hit.device;
  const text = await env.DEVICES.get(id);
  let device = null;
  try {
    device = text === null ? null : JSON.parse(text);
  } catch {
    // JSON.parse quotes the text around the error: report the id only, the value holds secrets.
  }
  const usable = device !== null && typeof device === 'object' && Array.isArray(device.secrets ?? []) && Array.isArray(device.tokenHashes ?? []);
  if (text !== null && !usable) {
    console.error(`ingest: the registry entry of ${id} is malformed`);
    device = null;
  }
  cache.delete(id);
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value);
  cache.set(id, { device, until: now + positiveInteger(env.DEVICE_CACHE_MS, 'DEVICE_CACHE_MS', 30_000) });
  return device;
}
