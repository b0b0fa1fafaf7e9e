// Options cross into the core as JSON; what JSON has no form for travels as a marker string
// starting with NUL (the core's `model::options` reads them): a function (a credentials
// provider, a `fetch`), the non-finite numbers, and other values by their `typeof`.
const MARKER = '\0';

function replacer(key, value) {
  // A credential expiration may be a Date (here already its ISO text) or an ISO time: the host
  // reads it; the core takes epoch milliseconds.
  if (key === 'expiration' && typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isFinite(ms) ? ms : `${MARKER}NaN`;
  }
  switch (typeof value) {
    case 'function':
      return `${MARKER}function`;
    case 'number':
      return Number.isFinite(value) ? value : `${MARKER}${value}`;
    case 'bigint':
    case 'symbol':
      return `${MARKER}${typeof value}`;
    default:
      return value;
  }
}

/** `value` as the JSON the core reads options (or credentials, or a request) from. */
export const toCoreJson = (value) => JSON.stringify(value, replacer);
