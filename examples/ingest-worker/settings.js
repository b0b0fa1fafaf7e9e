// Numeric settings from wrangler.toml [vars]: a value that is not a positive integer (say
// "64KiB") fails loudly rather than turning a limit off.
export function positiveInteger(value, name, fallback) {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`ingest: ${name} must be a positive integer`);
  return n;
}
