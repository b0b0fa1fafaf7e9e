// signRequest: SigV4 for any AWS call, signed by the core; the body's hash comes from the host.
import { signRequestCore } from './kinesis_edge.js';
import { kinesisError } from './errors.js';
import { toCoreJson } from './options.js';
import { asBytes } from './records.js';
import { digest } from './host.js';

const encoder = new TextEncoder();

function headerPairs(headers) {
  if (headers === undefined || headers === null) return [];
  const entries =
    typeof headers.entries === 'function' && !Array.isArray(headers)
      ? Array.from(headers.entries())
      : Array.isArray(headers)
        ? headers
        : Object.entries(headers);
  return entries.map(([name, value]) => [String(name).toLowerCase(), String(value)]);
}

function dateMillis(date) {
  if (date === undefined || date === null) return undefined;
  const ms = date instanceof Date ? date.getTime() : typeof date === 'string' ? Date.parse(date) : date;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw kinesisError('InvalidOption', 'invalid option `date`: must be a Date, epoch milliseconds or an ISO string', { field: 'date' });
  }
  return ms;
}

/**
 * Sign any AWS request with SigV4. Resolves to the headers to add:
 * `authorization`, `x-amz-date`, and `x-amz-security-token` with temporary credentials.
 */
export async function signRequest({ method = 'GET', url, headers, body, region, service, credentials, date } = {}) {
  let bytes = new Uint8Array(0);
  if (typeof body === 'string') bytes = encoder.encode(body);
  else if (body !== undefined && body !== null) {
    bytes = asBytes(body);
    if (!bytes) throw kinesisError('InvalidOption', 'invalid option `body`: must be a string, bytes or absent', { field: 'body' });
  }
  const resolved = typeof credentials === 'function' ? await credentials() : credentials;
  const request = toCoreJson({ method, url: url instanceof URL ? url.href : url, region, service, credentials: resolved, date: dateMillis(date) });
  const lines = signRequestCore(request, JSON.stringify(headerPairs(headers)), await digest(bytes), Date.now()).split('\n');
  const out = {};
  for (let i = 0; i < lines.length; i += 2) out[lines[i]] = lines[i + 1];
  return out;
}
