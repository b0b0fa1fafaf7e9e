// The package's errors: JS `Error`s named `KinesisEdgeError` with a stable `code`, made here for
// what the wrapper finds itself (the wasm core makes the same for what it finds).
const ERROR_NAME = 'KinesisEdgeError';

/** An error with `code` and any `extra` fields (`field`, `retryable`, `awsCode`, `status`, ...). */
export function kinesisError(code, message, extra) {
  const error = new Error(message);
  error.name = ERROR_NAME;
  error.code = code;
  return Object.assign(error, extra);
}

/** True for errors thrown or rejected by kinesis-edge (they carry a stable `code`). */
export function isKinesisEdgeError(value) {
  return value instanceof Error && value.name === ERROR_NAME && typeof value.code === 'string';
}
