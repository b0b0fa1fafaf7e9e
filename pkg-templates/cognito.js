// Credentials for browsers from a Cognito identity pool: temporary, scoped by the pool's IAM role,
// so no long-lived AWS key ever ships in a page. GetId once (the identity id is kept in
// localStorage where there is one), then GetCredentialsForIdentity whenever the producer asks,
// which it does a minute before the credentials expire.
import { answerError } from './kinesis_edge.js';

const TARGET = 'AWSCognitoIdentityService';

function credentialsError(message, cause) {
  const error = new Error(`Cognito identity pool: ${message}`);
  error.name = 'KinesisEdgeError';
  error.code = 'Credentials';
  if (cause?.awsCode) error.awsCode = cause.awsCode;
  if (cause?.status) error.status = cause.status;
  return error;
}

/** localStorage where the page has it (not in workers, not when storage is blocked). */
function defaultStorage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

/**
 * A credentials provider for `KinesisProducer` / `KinesisReader`: `{ identityPoolId, region,
 * logins?, endpoint?, storage?, fetch? }`. `logins` maps identity providers to tokens
 * (authenticated identities); without it the pool must allow unauthenticated identities.
 * `storage` (default localStorage) keeps the identity id across page loads.
 */
export function fromCognitoIdentityPool({ identityPoolId, region, logins, endpoint, storage = defaultStorage(), fetch: fetchFn } = {}) {
  if (typeof identityPoolId !== 'string' || !/^[\w-]+:[0-9a-f-]+$/.test(identityPoolId)) {
    throw Object.assign(new Error('invalid option `identityPoolId`: must look like "us-east-1:1a2b..."'), {
      name: 'KinesisEdgeError',
      code: 'InvalidOption',
      field: 'identityPoolId',
    });
  }
  const poolRegion = region ?? identityPoolId.split(':')[0];
  const url = endpoint ?? `https://cognito-identity.${poolRegion}.amazonaws.com/`;
  const key = `kinesis-edge:cognito-identity:${identityPoolId}`;
  const send = fetchFn ?? ((...args) => globalThis.fetch(...args));
  let identityId = storage?.getItem(key) ?? null;

  // Cognito's GetId and GetCredentialsForIdentity are unsigned calls.
  async function call(operation, input) {
    let response;
    try {
      response = await send(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `${TARGET}.${operation}` },
        body: JSON.stringify(input),
      });
    } catch (e) {
      throw credentialsError(`${operation} failed: ${e?.message ?? e}`);
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (!response.ok) {
      const failure = answerError(response.status, response.headers.get('x-amzn-errortype') ?? undefined, bytes);
      throw credentialsError(`${operation} refused: ${failure.message}`, failure);
    }
    return JSON.parse(new TextDecoder().decode(bytes));
  }

  async function credentialsFor(id) {
    const out = await call('GetCredentialsForIdentity', logins ? { IdentityId: id, Logins: logins } : { IdentityId: id });
    const c = out.Credentials ?? {};
    if (!c.AccessKeyId || !c.SecretKey || !c.SessionToken) throw credentialsError('GetCredentialsForIdentity answered without credentials');
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretKey,
      sessionToken: c.SessionToken,
      // Epoch seconds in the JSON protocol.
      expiration: typeof c.Expiration === 'number' ? c.Expiration * 1000 : c.Expiration,
    };
  }

  return async function cognitoCredentials() {
    const fresh = !identityId;
    if (fresh) {
      identityId = (await call('GetId', logins ? { IdentityPoolId: identityPoolId, Logins: logins } : { IdentityPoolId: identityPoolId })).IdentityId;
      storage?.setItem(key, identityId);
    }
    try {
      return await credentialsFor(identityId);
    } catch (e) {
      // A kept identity the pool no longer knows (deleted, or another pool's): start over once.
      if (fresh || e.awsCode !== 'ResourceNotFoundException') throw e;
      storage?.removeItem(key);
      identityId = null;
      return cognitoCredentials();
    }
  };
}
