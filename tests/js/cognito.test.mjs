// fromCognitoIdentityPool against moto's server (cognito-identity, from PyPI) on 127.0.0.1:
// GetId once, the identity kept in storage across "page loads", GetCredentialsForIdentity on
// every refresh, and the credentials used by a producer writing to kinesalite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromCognitoIdentityPool, KinesisProducer } from 'kinesis-edge';
import { createStream, readStream, motoForTests, kinesaliteForTests } from './support.mjs';

const moto = motoForTests();
const k = kinesaliteForTests();

async function createPool() {
  const res = await fetch(moto.url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSCognitoIdentityService.CreateIdentityPool' },
    body: JSON.stringify({ IdentityPoolName: 'dashboards', AllowUnauthenticatedIdentities: true }),
  });
  return (await res.json()).IdentityPoolId;
}

/** localStorage's interface over a Map, standing in for a page's storage. */
const memoryStorage = () => {
  const m = new Map();
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k), map: m };
};

/** A fetch that records each Cognito operation it passes on; `fail(operation, body)` may answer instead. */
function recordingFetch(calls, fail = () => null) {
  return async (url, init) => {
    const operation = init.headers['x-amz-target'].split('.')[1];
    calls.push(operation);
    return fail(operation, JSON.parse(init.body)) ?? fetch(url, init);
  };
}

test('GetId once, the identity kept across page loads, fresh credentials on every call', async () => {
  const identityPoolId = await createPool();
  const storage = memoryStorage();
  const calls = [];
  const provider = fromCognitoIdentityPool({ identityPoolId, endpoint: moto.url, storage, fetch: recordingFetch(calls) });
  const first = await provider();
  assert.ok(first.accessKeyId && first.secretAccessKey && first.sessionToken);
  assert.ok(first.expiration > Date.now(), 'expiration in epoch milliseconds, in the future');
  await provider();
  assert.deepEqual(calls, ['GetId', 'GetCredentialsForIdentity', 'GetCredentialsForIdentity']);
  const [[key, identityId]] = storage.map;
  assert.match(key, /cognito-identity/);
  assert.match(identityId, /^us-east-1:/);

  // The next page load: a new provider, the same storage, no GetId.
  const again = [];
  await fromCognitoIdentityPool({ identityPoolId, endpoint: moto.url, storage, fetch: recordingFetch(again) })();
  assert.deepEqual(again, ['GetCredentialsForIdentity']);
});

test('a kept identity the pool no longer knows is replaced once', async () => {
  const identityPoolId = await createPool();
  const storage = memoryStorage();
  storage.setItem(`kinesis-edge:cognito-identity:${identityPoolId}`, 'us-east-1:00000000-0000-0000-0000-00000000dead');
  const calls = [];
  const gone = (operation, body) =>
    operation === 'GetCredentialsForIdentity' && body.IdentityId.endsWith('dead')
      ? new Response(JSON.stringify({ __type: 'ResourceNotFoundException', message: 'Identity not found' }), { status: 400 })
      : null;
  const credentials = await fromCognitoIdentityPool({ identityPoolId, endpoint: moto.url, storage, fetch: recordingFetch(calls, gone) })();
  assert.ok(credentials.sessionToken);
  assert.deepEqual(calls, ['GetCredentialsForIdentity', 'GetId', 'GetCredentialsForIdentity']);
  assert.ok(!storage.getItem(`kinesis-edge:cognito-identity:${identityPoolId}`).endsWith('dead'));
});

test("a kept identity of another login (NotAuthorized: logins don't match) is replaced once, and logins keep their own", async () => {
  const identityPoolId = await createPool();
  const storage = memoryStorage();
  const logins = { 'accounts.google.com': 'id-token-of-user-b' };
  const key = `kinesis-edge:cognito-identity:${identityPoolId}:accounts.google.com`;
  storage.setItem(key, 'us-east-1:00000000-0000-0000-0000-0000000000aa');
  const calls = [];
  const otherUsers = (operation, body) =>
    operation === 'GetCredentialsForIdentity' && body.IdentityId.endsWith('aa')
      ? new Response(JSON.stringify({ __type: 'NotAuthorizedException', message: "Logins don't match." }), { status: 400 })
      : null;
  const credentials = await fromCognitoIdentityPool({ identityPoolId, endpoint: moto.url, storage, logins, fetch: recordingFetch(calls, otherUsers) })();
  assert.ok(credentials.sessionToken);
  assert.deepEqual(calls, ['GetCredentialsForIdentity', 'GetId', 'GetCredentialsForIdentity']);
  assert.ok(!storage.getItem(key).endsWith('aa'));
  assert.equal(storage.getItem(`kinesis-edge:cognito-identity:${identityPoolId}`), null, 'the unauthenticated identity is kept apart');
});

test('concurrent first calls share one GetId, and storage that throws is done without', async () => {
  const identityPoolId = await createPool();
  const refusing = {
    getItem() {
      throw new DOMException('blocked', 'SecurityError');
    },
    setItem() {
      throw new DOMException('full', 'QuotaExceededError');
    },
    removeItem() {},
  };
  const calls = [];
  const provider = fromCognitoIdentityPool({ identityPoolId, endpoint: moto.url, storage: refusing, fetch: recordingFetch(calls) });
  const [a, b] = await Promise.all([provider(), provider()]);
  assert.ok(a.sessionToken && b.sessionToken);
  assert.deepEqual(calls.sort(), ['GetCredentialsForIdentity', 'GetCredentialsForIdentity', 'GetId']);
});

test('a refused pool rejects with a Credentials error, and bad ids are refused at once', async () => {
  const provider = fromCognitoIdentityPool({ identityPoolId: 'us-east-1:11111111-1111-1111-1111-111111111111', endpoint: moto.url, storage: null });
  await assert.rejects(provider(), (e) => e.name === 'KinesisEdgeError' && e.code === 'Credentials' && e.status === 500);
  assert.throws(() => fromCognitoIdentityPool({ identityPoolId: 'not a pool' }), (e) => e.code === 'InvalidOption' && e.field === 'identityPoolId');
});

test('a producer signs with the pool credentials (session token included)', async () => {
  await createStream(k.client, 'cognito', 1);
  const identityPoolId = await createPool();
  const seen = [];
  const producer = new KinesisProducer({
    region: 'us-east-1',
    streamName: 'cognito',
    endpoint: k.endpoint,
    credentials: fromCognitoIdentityPool({ identityPoolId, endpoint: moto.url, storage: memoryStorage() }),
    fetch: (url, init) => {
      seen.push(init.headers['x-amz-security-token']);
      return fetch(url, init);
    },
  });
  const result = await producer.put({ data: 'from a browser identity', partitionKey: 'page-1' });
  await producer.close();
  assert.ok(seen.length > 0 && seen.every((t) => typeof t === 'string' && t.length > 0));
  const stored = await readStream(k.client, 'cognito');
  assert.equal(stored.find((r) => r.SequenceNumber === result.sequenceNumber)?.PartitionKey, 'page-1');
});
