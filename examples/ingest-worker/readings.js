// Reading the body of `POST /ingest`: one JSON reading, a JSON array of readings, or newline-
// delimited JSON, each checked against its device's schema. Errors name the reading and the
// field, so a device developer can fix the payload from the 400 alone.

/** Field rules: `[type, min, max, required]`; strings carry their allowed values instead. */
export const SCHEMAS = {
  thermometer: {
    temperature: ['number', -60, 150, true],
    humidity: ['number', 0, 100, false],
    battery: ['number', 0, 100, false],
    ts: ['integer', 0, 8.64e15, false],
  },
  tracker: {
    lat: ['number', -90, 90, true],
    lon: ['number', -180, 180, true],
    speed: ['number', 0, 1000, false],
    battery: ['number', 0, 100, false],
    ts: ['integer', 0, 8.64e15, false],
  },
  meter: {
    kwh: ['number', 0, 1e9, true],
    phase: ['string', ['L1', 'L2', 'L3'], null, false],
    ts: ['integer', 0, 8.64e15, false],
  },
};

export const MAX_READINGS = 1000;

class BadRequest extends Error {}

function checkReading(reading, schema, where) {
  if (typeof reading !== 'object' || reading === null || Array.isArray(reading)) {
    throw new BadRequest(`${where} must be a JSON object`);
  }
  for (const field of Object.keys(reading)) {
    if (!Object.hasOwn(schema, field)) throw new BadRequest(`${where}: unknown field "${field}"`);
  }
  for (const [field, [type, min, max, required]] of Object.entries(schema)) {
    const value = reading[field];
    if (value === undefined) {
      if (required) throw new BadRequest(`${where}: "${field}" is required`);
      continue;
    }
    if (type === 'string') {
      if (!min.includes(value)) throw new BadRequest(`${where}: "${field}" must be one of ${min.join(', ')}`);
      continue;
    }
    const ok = typeof value === 'number' && Number.isFinite(value) && (type !== 'integer' || Number.isInteger(value));
    if (!ok || value < min || value > max) {
      throw new BadRequest(`${where}: "${field}" must be ${type === 'integer' ? 'an integer' : 'a number'} from ${min} to ${max}`);
    }
  }
}

function parseJson(text, where) {
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequest(`${where} is not valid JSON`);
  }
}

/**
 * The readings in `text`, checked against `schema` (one of SCHEMAS):
 * `{ readings }` or `{ error }` (a reason fit for a 400 answer).
 */
export function parseReadings(text, contentType, schema) {
  try {
    const ndjson = /^application\/(x-)?ndjson|^application\/jsonl/i.test(contentType ?? '');
    let readings;
    if (ndjson) {
      readings = text
        .split('\n')
        .map((line, i) => [line.trim(), i])
        .filter(([line]) => line !== '')
        .map(([line, i]) => parseJson(line, `line ${i + 1}`));
    } else {
      const value = parseJson(text, 'body');
      readings = Array.isArray(value) ? value : [value];
    }
    if (readings.length === 0) throw new BadRequest('no readings in the body');
    if (readings.length > MAX_READINGS) throw new BadRequest(`at most ${MAX_READINGS} readings per request, got ${readings.length}`);
    readings.forEach((r, i) => checkReading(r, schema, readings.length === 1 ? 'reading' : `reading ${i}`));
    return { readings };
  } catch (e) {
    if (e instanceof BadRequest) return { error: e.message };
    throw e;
  }
}
