// signDeviceRequest (the package's device-side signer) against the Standard Webhooks
// specification's own test vector and the Python reference library, its refusals, and the
// example's registry admin commands (examples/ingest-worker/devices-admin.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { signDeviceRequest, isKinesisEdgeError } from 'kinesis-edge';
import { applyCommand } from '../../examples/ingest-worker/devices-admin.mjs';

const SPEC = { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', id: 'msg_p5jXN8AQM9LWM0D4loKWxJek', timestamp: 1614265330, body: '{"test": 2432232314}' };

test('signDeviceRequest matches the specification vector and the Python reference library', async () => {
  const h = await signDeviceRequest({ deviceId: 'dev-1', ...SPEC });
  assert.deepEqual(h, {
    'webhook-id': SPEC.id,
    'webhook-timestamp': '1614265330',
    'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    'x-device-id': 'dev-1',
  });
  const bytes = await signDeviceRequest({ deviceId: 'dev-1', ...SPEC, body: new TextEncoder().encode(SPEC.body), timestamp: new Date(1614265330_900) });
  assert.equal(bytes['webhook-signature'], h['webhook-signature'], 'bytes and a Date sign the same');
  // Random ids and now: the Python library verifies them.
  const body = JSON.stringify({ temperature: 21.5 });
  const fresh = await signDeviceRequest({ deviceId: 'dev-1', secret: SPEC.secret, body });
  assert.match(fresh['webhook-id'], /^msg_[A-Za-z0-9_-]{24}$/);
  assert.ok(Math.abs(Number(fresh['webhook-timestamp']) - Date.now() / 1000) < 5);
  const script = `import json,sys\nfrom standardwebhooks import Webhook\nh=json.load(sys.stdin)\nWebhook(h.pop("secret")).verify(h.pop("body"), h)\nprint("ok")`;
  const out = execFileSync('python3', ['-c', script], { input: JSON.stringify({ ...fresh, secret: SPEC.secret, body }), encoding: 'utf8' });
  assert.equal(out.trim(), 'ok');
});

test('signDeviceRequest refuses bad input with InvalidOption, never quoting the secret', async () => {
  const secretish = 'whsec_not base64!';
  for (const [input, field] of [
    [{ deviceId: 'd', secret: secretish, body: 'x' }, 'secret'],
    [{ deviceId: 'd', secret: 'hunter2-plain', body: 'x' }, 'secret'],
    [{ deviceId: 'd', secret: 'whsec_abcde', body: 'x' }, 'secret'], // base64 of a wrong length
    [{ deviceId: '', secret: SPEC.secret, body: 'x' }, 'deviceId'],
    [{ deviceId: 'd', secret: SPEC.secret, body: { a: 1 } }, 'body'],
    [{ deviceId: 'd', secret: SPEC.secret, body: 'x', id: 'has.dot' }, 'id'],
    [{ deviceId: 'd', secret: SPEC.secret, body: 'x', timestamp: Date.now() }, 'timestamp'],
  ]) {
    await assert.rejects(signDeviceRequest(input), (e) => {
      assert.ok(isKinesisEdgeError(e) && e.code === 'InvalidOption' && e.field === field, `${field}: ${e.message}`);
      assert.ok(!e.message.includes('hunter2') && !e.message.includes('not base64'), 'the secret is not quoted');
      return true;
    });
  }
});

test('the registry admin commands add, rotate (keeping the old secret until dropped), disable and enable', () => {
  const { value, handed } = applyCommand('add', null, { schema: 'thermometer', token: true });
  assert.match(handed.secret, /^whsec_/);
  assert.deepEqual(value, { secrets: [handed.secret], tokenHashes: [createHash('sha256').update(handed.token).digest('hex')], schema: 'thermometer' });
  assert.throws(() => applyCommand('add', value, { schema: 'thermometer' }), /already exists/);
  assert.throws(() => applyCommand('add', null, { schema: 'kettle' }), /--schema must be one of/);
  const rotated = applyCommand('rotate', value);
  assert.deepEqual(rotated.value.secrets, [rotated.handed.secret, handed.secret]);
  assert.deepEqual(applyCommand('rotate', rotated.value, { dropOld: true }).value.secrets, [rotated.handed.secret]);
  // Two rotations before --drop-old: every earlier secret still verifies.
  const twice = applyCommand('rotate', rotated.value);
  assert.deepEqual(twice.value.secrets, [twice.handed.secret, rotated.handed.secret, handed.secret]);
  const disabled = applyCommand('disable', value).value;
  assert.equal(disabled.disabled, true);
  assert.deepEqual(applyCommand('enable', disabled).value, value);
  assert.throws(() => applyCommand('disable', null), /no such device/);
});
