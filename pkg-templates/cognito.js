// Credentials for browsers from a Cognito identity pool: temporary, scoped by the pool's IAM role,
// so no long-lived AWS key ever ships in a page. GetId once (the identity id is kept in
// localStorage where there is one), then GetCredentialsForIdentity whenever the producer asks,
// which it does a minute before the credentials expire.
import { answerError, endpointUrl } from './kinesis_edge.js';
import { kinesisError } from './errors.js';

const TARGET = 'AWSCognitoIdentityService';

function credentialsError(message, cause) {
  const error = kinesisError('Credentials', `Cognito identity pool: ${message}`);
  if (cause?.awsCode) error.awsCode = cause.awsCode;
  if (cause?.status) error.status = cause.status;
  return error;
}

/** localStorage where the page has it (not in workers, not when storage is blocked). */
function defaultStorage() {
  try {
    const storage = globalThis.localStorage;
    return typeof storage?.getItem === 'function' ? storage : null;
  } catch {
    return null;
  }
}

/** Storage is a cache: where it throws (private modes, a full quota), go on without it. */
function quietly(action) {
  try {
    return action() ?? null;
  } catch {
    return null;
  }
}

/** A kept identity that GetCredentialsForIdentity refuses: gone from the pool, or another
 * login's (Cognito answers "Logins don't match"). Either way: get a new one, once. */
const STALE_IDENTITY = new Set(['ResourceNotFoundException', 'NotAuthorizedException']);

/**
 * A credentials provider for `KinesisProducer` / `KinesisReader`: `{ identityPoolId, region,
 * logins?, endpoint?, storage?, fetch? }`. `logins` maps identity providers to tokens
 * (authenticated identities); without it the pool must allow unauthenticated identities.
 * `storage` (default localStorage) keeps the identity id across page loads.
 */
export function fromCognitoIdentityPool({ identityPoolId, region, logins, endpoint, storage = defaultStorage(), fetch: fetchFn } = {}) {
  if (typeof identityPoolId !== 'string' || !/^[\w-]+:[0-9a-f-]+$/.test(identityPoolId)) {
    throw kinesisError('InvalidOption', 'invalid option `identityPoolId`: must look like "us-east-1:1a2b..."', { field: 'identityPoolId' });
  }
  const url = endpointUrl('cognito-identity', region ?? identityPoolId.split(':')[0], endpoint);
  // One kept identity per pool and set of login providers: a page that logs in (or out) does
  // not present the other kind's identity.
  const providers = logins ? `:${Object.keys(logins).sort().join(',')}` : '';
  const key = `kinesis-edge:cognito-identity:${identityPoolId}${providers}`;
  const send = fetchFn ?? ((...args) => globalThis.fetch(...args));
  let identityId = quietly(() => storage?.getItem(key));
  /** The GetId call under way, shared by callers that arrive meanwhile (one identity, not two). */
  let gettingId = null;

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
    try {
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw credentialsError(`${operation} answered with a body that is not JSON`);
    }
  }

  async function newIdentity() {
    const out = await call('GetId', logins ? { IdentityPoolId: identityPoolId, Logins: logins } : { IdentityPoolId: identityPoolId });
    if (typeof out.IdentityId !== 'string') throw credentialsError('GetId answered without an identity id');
    quietly(() => storage?.setItem(key, out.IdentityId));
    return out.IdentityId;
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
      gettingId ??= newIdentity().finally(() => (gettingId = null));
      identityId = await gettingId;
    }
    const id = identityId;
    try {
      return await credentialsFor(id);
    } catch (e) {
      if (fresh || !STALE_IDENTITY.has(e.awsCode)) throw e;
      // Start over once (unless a concurrent call has already replaced it).
      if (identityId === id) {
        quietly(() => storage?.removeItem(key));
        identityId = null;
      }
      return cognitoCredentials();
    }
  };
}
