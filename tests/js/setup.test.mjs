// `kinesis-edge setup` (the package's bin, run as a child process) against moto's IAM, STS,
// Cognito identity and Kinesis on one server on 127.0.0.1. moto 5.2.5 answers 500 to Cognito
// SetIdentityPoolRoles / GetIdentityPoolRoles, so a loopback stand-in in front of it implements
// those two (keeping each pool's roles) and forwards everything else unchanged; it also records
// every operation, so a test can say which calls a run made. moto does not evaluate IAM
// policies: the documents are compared by value with the ones expected.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer, request } from 'node:http';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KinesisClient, CreateStreamCommand, DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startMoto, readStream, TEST_CREDENTIALS } from './support.mjs';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(root, 'pkg/cli.js');
const ACCOUNT = '123456789012';
const SECRET = 'setup-test-secret-never-printed';
const ROLES_TARGET = /^AWSCognitoIdentityService\.(Set|Get)IdentityPoolRoles$/;

let moto;
let proxy;
let endpoint;
let kinesis;
let home;
/** Every operation the stand-in saw: `Kinesis_20131202.CreateStream`, `iam:CreateRole`, ... */
let seen = [];
/** The access key ids that signed them. */
const keyIds = new Set();
/** `(operation, body) => { status, headers, body } | undefined`: a test's own answer. */
let intercept = () => undefined;
const poolRoles = new Map();

function readBody(stream) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/** The answer of moto to this request, unchanged. */
function forward(req, body) {
  return new Promise((resolve, reject) => {
    const out = request(`${moto.url.slice(0, -1)}${req.url}`, { method: req.method, headers: req.headers }, async (res) => {
      resolve({ status: res.statusCode, headers: res.headers, body: await readBody(res) });
    });
    out.on('error', reject);
    out.end(body);
  });
}

const json = (status, value) => ({ status, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: JSON.stringify(value) });

/** The stand-in for the two Cognito calls moto lacks; the pool must exist in moto. */
async function poolRolesCall(operation, input) {
  const describe = await fetch(moto.url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSCognitoIdentityService.DescribeIdentityPool' },
    body: JSON.stringify({ IdentityPoolId: input.IdentityPoolId }),
  });
  if (describe.status !== 200) return json(describe.status, await describe.json());
  if (operation.endsWith('SetIdentityPoolRoles')) {
    poolRoles.set(input.IdentityPoolId, { Roles: input.Roles, ...(input.RoleMappings && { RoleMappings: input.RoleMappings }) });
    return { status: 200, headers: {}, body: '' };
  }
  return json(200, { IdentityPoolId: input.IdentityPoolId, ...(poolRoles.get(input.IdentityPoolId) ?? { Roles: {} }) });
}

before(async () => {
  moto = await startMoto();
  proxy = createServer(async (req, res) => {
    const body = await readBody(req);
    const target = req.headers['x-amz-target'];
    const operation = target ?? `${/Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(req.headers.authorization ?? '')?.[1]}:${new URLSearchParams(body.toString()).get('Action')}`;
    seen.push(operation);
    const keyId = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1];
    if (keyId) keyIds.add(keyId);
    let answer = await intercept(operation, body.toString());
    if (!answer && ROLES_TARGET.test(operation)) answer = await poolRolesCall(operation, JSON.parse(body));
    answer ??= await forward(req, body);
    res.writeHead(answer.status, answer.headers).end(answer.body);
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${proxy.address().port}`;
  kinesis = new KinesisClient({ region: 'us-east-1', endpoint: moto.url, credentials: TEST_CREDENTIALS, maxAttempts: 1, requestHandler: new NodeHttpHandler() });
  home = mkdtempSync(join(tmpdir(), 'kinesis-edge-setup-'));
});
after(async () => {
  kinesis?.destroy();
  await new Promise((r) => (proxy ? proxy.close(r) : r()));
  await moto?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

/** Run the bin: `{ status, stdout, stderr, json }`; the environment holds only what is given
 * (HOME is an empty directory, so no real ~/.aws is read). */
async function setup(args, env = { AWS_ACCESS_KEY_ID: 'AKIDSETUP', AWS_SECRET_ACCESS_KEY: SECRET }, at = endpoint) {
  let out;
  try {
    out = { status: 0, ...(await run(process.execPath, [CLI, 'setup', '--region', 'us-east-1', '--endpoint', at, ...args], { env: { PATH: process.env.PATH, HOME: home, ...env } })) };
  } catch (e) {
    out = { status: e.code, stdout: e.stdout, stderr: e.stderr };
  }
  assert.ok(!`${out.stdout}${out.stderr}`.includes(SECRET), 'the secret key is never printed');
  return { ...out, json: out.status === 0 ? JSON.parse(out.stdout) : undefined };
}

/** Reads answered by moto itself, not through the command under test. */
async function motoCall(service, form, url = moto.url) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=0` },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, text: await res.text() };
}
async function cognito(operation, input) {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AWSCognitoIdentityService.${operation}` },
    body: JSON.stringify(input),
  });
  const text = await res.text();
  return text === '' ? {} : JSON.parse(text);
}
const field = (xml, name) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
const iamDocument = (xml, name) => JSON.parse(decodeURIComponent(field(xml, name)));
const describe = async (name) => (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary;

const streamArn = (name) => `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/${name}`;
const WRITE = { Sid: 'WriteStream', Effect: 'Allow', Action: ['kinesis:PutRecords', 'kinesis:ListShards', 'kinesis:DescribeStreamSummary'] };
const expectedPolicy = (name, namespace) => ({
  Version: '2012-10-17',
  Statement: [
    { ...WRITE, Resource: streamArn(name) },
    ...(namespace
      ? [{ Sid: 'PublishMetrics', Effect: 'Allow', Action: 'cloudwatch:PutMetricData', Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': namespace } } }]
      : []),
  ],
});
const cognitoTrust = (poolId) => ({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Federated: 'cognito-identity.amazonaws.com' },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringEquals: { 'cognito-identity.amazonaws.com:aud': poolId },
        'ForAnyValue:StringLike': { 'cognito-identity.amazonaws.com:amr': 'unauthenticated' },
      },
    },
  ],
});
const MUTATING = /Create|Put|Set|Increase|Update|Delete/;

test('with --identity-pool: stream, role and pool in place; a second run changes nothing; a producer from the printed snippet writes with the pool credentials', async () => {
  const args = ['--stream', 'pages', '--on-demand', '--identity-pool', 'web pages', '--metrics', '--retention-hours', '48'];
  const dry = await setup([...args, '--dry-run']);
  assert.equal(dry.status, 0, dry.stderr);
  assert.equal(dry.json.identityPoolId, '<new identity pool id>');
  assert.deepEqual(dry.json.trustPolicy, cognitoTrust('<new identity pool id>'));
  seen = [];
  const first = await setup(args);
  assert.equal(first.status, 0, first.stderr);
  const out = first.json;
  assert.match(out.identityPoolId, /^us-east-1:[0-9a-f-]+$/);
  assert.equal(out.streamArn, streamArn('pages'));
  assert.equal(out.roleArn, `arn:aws:iam::${ACCOUNT}:role/kinesis-edge-pages-unauth`);
  assert.deepEqual(out.options, { region: 'us-east-1', streamArn: out.streamArn, endpoint });
  assert.match(out.trust, /unauthenticated identities of Cognito identity pool/);
  // The order that works: pool, role trusting it, its policy, the pool's role, then the wait
  // (GetId, GetCredentialsForIdentity, DescribeStreamSummary with those credentials).
  const made = seen.filter((o) => MUTATING.test(o) || /GetId$|GetCredentialsForIdentity/.test(o));
  const planned = dry.json.calls.map((c) => c.call.replace(/^kinesis:/, 'Kinesis_20131202.').replace(/^cognito-identity:/, 'AWSCognitoIdentityService.'));
  assert.deepEqual(made.slice(0, -2), planned, 'the dry run listed the calls the run made');
  assert.deepEqual(made, [
    'Kinesis_20131202.CreateStream',
    'Kinesis_20131202.IncreaseStreamRetentionPeriod',
    'AWSCognitoIdentityService.CreateIdentityPool',
    'iam:CreateRole',
    'iam:PutRolePolicy',
    'AWSCognitoIdentityService.SetIdentityPoolRoles',
    'AWSCognitoIdentityService.GetId',
    'AWSCognitoIdentityService.GetCredentialsForIdentity',
  ]);

  const summary = await describe('pages');
  assert.equal(summary.StreamARN, out.streamArn);
  assert.equal(summary.StreamStatus, 'ACTIVE');
  assert.equal(summary.StreamModeDetails.StreamMode, 'ON_DEMAND');
  assert.equal(summary.RetentionPeriodHours, 48);

  const role = await motoCall('iam', { Action: 'GetRole', Version: '2010-05-08', RoleName: 'kinesis-edge-pages-unauth' });
  assert.equal(field(role.text, 'Arn'), out.roleArn);
  assert.deepEqual(iamDocument(role.text, 'AssumeRolePolicyDocument'), cognitoTrust(out.identityPoolId));
  const policy = await motoCall('iam', { Action: 'GetRolePolicy', Version: '2010-05-08', RoleName: 'kinesis-edge-pages-unauth', PolicyName: 'kinesis-edge-producer' });
  assert.deepEqual(iamDocument(policy.text, 'PolicyDocument'), expectedPolicy('pages', 'KinesisProducerLibrary'));
  const pool = await cognito('DescribeIdentityPool', { IdentityPoolId: out.identityPoolId });
  assert.equal(pool.IdentityPoolName, 'web pages');
  assert.equal(pool.AllowUnauthenticatedIdentities, true);
  assert.deepEqual((await cognito('GetIdentityPoolRoles', { IdentityPoolId: out.identityPoolId })).Roles, { unauthenticated: out.roleArn });

  seen = [];
  const second = await setup(args);
  assert.equal(second.status, 0, second.stderr);
  assert.equal(second.stdout, first.stdout, 'the same JSON');
  assert.deepEqual(seen.filter((o) => MUTATING.test(o) || /GetId$/.test(o)), [], 'nothing created or changed');
  assert.match(second.stderr, /left as it is/);

  // The printed snippet, as a user pastes it, then two puts.
  const program = `${out.snippet}\nconst results = await producer.putMany([{ data: 'reading 1', partitionKey: 'd1' }, { data: 'reading 2', partitionKey: 'd2' }]);\nawait producer.close();\nconsole.log(JSON.stringify({ results, uploads: producer.stats().metricsUploads }));\n`;
  assert.match(out.snippet, /fromCognitoIdentityPool\(\{ identityPoolId: "us-east-1:[0-9a-f-]+", endpoint: /);
  // --metrics: the metrics entry, publishing where the role may (the local endpoint here).
  assert.match(out.snippet, /from 'kinesis-edge\/metrics';/);
  assert.match(out.snippet, /metrics: \{ level: 'summary', endpoint: "http:\/\/127\.0\.0\.1:\d+\/?" \},/);
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', program], { cwd: root, env: { PATH: process.env.PATH, HOME: home } });
  const { results, uploads } = JSON.parse(stdout);
  assert.equal(results.length, 2);
  assert.equal(uploads, 1, 'close() published the metrics');
  const stored = await readStream(kinesis, 'pages');
  const bySequence = new Map(stored.map((r) => [r.SequenceNumber, Buffer.from(r.Data).toString()]));
  assert.deepEqual(results.map((r) => bySequence.get(r.sequenceNumber)), ['reading 1', 'reading 2']);
});

test('without --identity-pool: the role trusts the account; --dry-run before and after creates nothing; --metrics later replaces only the policy', async () => {
  seen = [];
  const args = ['--stream', 'workers', '--shards', '2'];
  const dry = await setup([...args, '--dry-run']);
  assert.equal(dry.status, 0, dry.stderr);
  assert.deepEqual(
    dry.json.calls.map((c) => c.call),
    ['kinesis:CreateStream', 'iam:CreateRole', 'iam:PutRolePolicy'],
  );
  assert.deepEqual(dry.json.calls[0].input, { StreamName: 'workers', ShardCount: 2 });
  const accountTrust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' }] };
  assert.deepEqual(dry.json.trustPolicy, accountTrust);
  assert.deepEqual(dry.json.policy, expectedPolicy('workers'));
  assert.deepEqual(dry.json.calls[2].input.PolicyDocument, expectedPolicy('workers'));
  assert.deepEqual(seen.filter((o) => MUTATING.test(o)), [], 'a dry run changes nothing');
  await assert.rejects(describe('workers'), (e) => e.name === 'ResourceNotFoundException');
  assert.equal((await motoCall('iam', { Action: 'GetRole', Version: '2010-05-08', RoleName: 'kinesis-edge-workers' })).status, 404);

  const real = await setup(args);
  assert.equal(real.status, 0, real.stderr);
  assert.equal(real.json.identityPoolId, null);
  assert.match(real.json.trust, new RegExp(`account ${ACCOUNT} allowed sts:AssumeRole`));
  assert.match(real.json.snippet, /sts:AssumeRole credentials of arn:aws:iam::123456789012:role\/kinesis-edge-workers/);
  assert.equal((await describe('workers')).OpenShardCount, 2);
  const role = await motoCall('iam', { Action: 'GetRole', Version: '2010-05-08', RoleName: 'kinesis-edge-workers' });
  assert.deepEqual(iamDocument(role.text, 'AssumeRolePolicyDocument'), accountTrust);
  assert.deepEqual(dry.json.roleArn, real.json.roleArn);
  assert.deepEqual(dry.json.streamArn, real.json.streamArn);

  const after = await setup([...args, '--dry-run']);
  assert.deepEqual(after.json.calls, [], 'nothing left to do');

  seen = [];
  const withMetrics = await setup([...args, '--metrics-namespace', 'Fleet/Telemetry']);
  assert.equal(withMetrics.status, 0, withMetrics.stderr);
  assert.deepEqual(seen.filter((o) => MUTATING.test(o)), ['iam:PutRolePolicy']);
  const policy = await motoCall('iam', { Action: 'GetRolePolicy', Version: '2010-05-08', RoleName: 'kinesis-edge-workers', PolicyName: 'kinesis-edge-producer' });
  assert.deepEqual(iamDocument(policy.text, 'PolicyDocument'), expectedPolicy('workers', 'Fleet/Telemetry'));
});

test('credentials from a profile of the shared credentials file; none at all is a Credentials error before any call', async () => {
  const file = join(home, 'credentials');
  writeFileSync(file, `[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = other\n\n[ci]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = ${SECRET}\n`);
  keyIds.clear();
  const fromProfile = await setup(['--stream', 'profiled', '--dry-run'], { AWS_SHARED_CREDENTIALS_FILE: file, AWS_PROFILE: 'ci' });
  assert.equal(fromProfile.status, 0, fromProfile.stderr);
  assert.deepEqual([...keyIds], ['AKIDPROFILE'], 'every call signed with the profile');

  seen = [];
  const none = await setup(['--stream', 'nobody'], {});
  assert.equal(none.status, 3);
  assert.match(none.stderr, /error \[Credentials\]: no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  assert.deepEqual(seen, [], 'no call without credentials');
  const missingProfile = await setup(['--stream', 'nobody'], { AWS_SHARED_CREDENTIALS_FILE: file, AWS_PROFILE: 'absent' });
  assert.equal(missingProfile.status, 3);
  assert.match(missingProfile.stderr, /profile "absent" in .* has no aws_access_key_id/);
});

test('AccessDenied names the action refused (moto with IAM authorization on, checking every signature)', async () => {
  const secured = await startMoto({ INITIAL_NO_AUTH_ACTION_COUNT: '7' });
  try {
    // Six unauthorised calls (moto counts the readiness probe too): two users, their keys and policies.
    const unauthorised = async (form) => {
      const out = await motoCall('iam', { Version: '2010-05-08', ...form }, secured.url);
      assert.equal(out.status, 200, out.text);
      return out.text;
    };
    const user = async (name, actions) => {
      await unauthorised({ Action: 'CreateUser', UserName: name });
      const key = await unauthorised({ Action: 'CreateAccessKey', UserName: name });
      const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] };
      await unauthorised({ Action: 'PutUserPolicy', UserName: name, PolicyName: 'p', PolicyDocument: JSON.stringify(policy) });
      return { AWS_ACCESS_KEY_ID: field(key, 'AccessKeyId'), AWS_SECRET_ACCESS_KEY: field(key, 'SecretAccessKey') };
    };
    const admin = await user('admin', ['*']);
    const ci = await user('ci', ['kinesis:*', 'sts:GetCallerIdentity', 'iam:GetRole', 'iam:GetRolePolicy']);

    // Every call of a whole run passes moto's signature check.
    const ok = await setup(['--stream', 'signed'], admin, secured.url);
    assert.equal(ok.status, 0, ok.stderr);

    const denied = await setup(['--stream', 'denied'], ci, secured.url);
    assert.equal(denied.status, 4, denied.stderr);
    assert.match(denied.stderr, /error \[AccessDenied\]: iam:CreateRole was refused: .*not authorized to perform: iam:CreateRole.* The caller may not iam:CreateRole/);

    const forged = await setup(['--stream', 'denied'], { ...ci, AWS_SECRET_ACCESS_KEY: 'not-the-secret' }, secured.url);
    assert.equal(forged.status, 3);
    assert.match(forged.stderr, /error \[Signing\]: sts:GetCallerIdentity was refused: SignatureDoesNotMatch.* Check the AWS credentials/);
    assert.ok(!forged.stderr.includes('not-the-secret'));
  } finally {
    await secured.stop();
  }
});

test('a stream still CREATING (or UPDATING after a retention change) is waited for until ACTIVE', async () => {
  const answers = ['CREATING', 'CREATING', 'ACTIVE', 'UPDATING', 'ACTIVE'];
  const statuses = [];
  // moto's streams are ACTIVE at once: the stand-in answers as Kinesis does meanwhile.
  intercept = async (operation, body) => {
    if (operation !== 'Kinesis_20131202.DescribeStreamSummary' || JSON.parse(body).StreamName !== 'patient' || !seen.includes('Kinesis_20131202.CreateStream')) return undefined;
    const status = answers.shift() ?? 'ACTIVE';
    statuses.push(status);
    const summary = await describe('patient');
    return json(200, { StreamDescriptionSummary: { ...summary, StreamCreationTimestamp: undefined, StreamStatus: status } });
  };
  seen = [];
  try {
    const out = await setup(['--stream', 'patient', '--retention-hours', '72']);
    assert.equal(out.status, 0, out.stderr);
    assert.deepEqual(statuses, ['CREATING', 'CREATING', 'ACTIVE', 'UPDATING', 'ACTIVE']);
    assert.match(out.stderr, /waiting for stream "patient" to become ACTIVE/);
    assert.equal((await describe('patient')).RetentionPeriodHours, 72);
  } finally {
    intercept = () => undefined;
  }
});

test('a stream being deleted stops the command before anything is created', async () => {
  await kinesis.send(new CreateStreamCommand({ StreamName: 'leaving', ShardCount: 1 }));
  // moto deletes at once: the stand-in answers as Kinesis does while a deletion runs.
  intercept = (operation, body) =>
    operation === 'Kinesis_20131202.DescribeStreamSummary' && JSON.parse(body).StreamName === 'leaving'
      ? json(200, { StreamDescriptionSummary: { StreamName: 'leaving', StreamARN: streamArn('leaving'), StreamStatus: 'DELETING', RetentionPeriodHours: 24, OpenShardCount: 1 } })
      : undefined;
  seen = [];
  try {
    const out = await setup(['--stream', 'leaving', '--identity-pool', 'leaving pages']);
    assert.equal(out.status, 5);
    assert.match(out.stderr, /error \[Validation\]: stream "leaving" is being deleted: run this again once it is gone/);
    assert.deepEqual(seen.filter((o) => MUTATING.test(o)), []);
  } finally {
    intercept = () => undefined;
  }
});

test('names taken by something else: a role with another trust policy, pools with other settings; nothing is created', async () => {
  const lambdaTrust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
  await motoCall('iam', { Action: 'CreateRole', Version: '2010-05-08', RoleName: 'taken', AssumeRolePolicyDocument: JSON.stringify(lambdaTrust) });
  /** A run that must fail before changing anything. */
  const refused = async (args) => {
    seen = [];
    const out = await setup(args);
    assert.deepEqual(seen.filter((o) => MUTATING.test(o)), [], `${args}: nothing created`);
    return out;
  };
  const role = await refused(['--stream', 'fresh', '--role', 'taken']);
  assert.equal(role.status, 5);
  assert.match(role.stderr, /error \[Validation\]: IAM role "taken" exists with another trust policy .*lambda\.amazonaws\.com.*: choose another name with --role/);

  await cognito('CreateIdentityPool', { IdentityPoolName: 'members only', AllowUnauthenticatedIdentities: false });
  const closed = await refused(['--stream', 'fresh', '--identity-pool', 'members only']);
  assert.equal(closed.status, 5);
  assert.match(closed.stderr, /identity pool "members only" \(us-east-1:[0-9a-f-]+\) exists and does not allow unauthenticated identities: pass another name to --identity-pool/);

  const { IdentityPoolId: shared } = await cognito('CreateIdentityPool', { IdentityPoolName: 'shared', AllowUnauthenticatedIdentities: true });
  await cognito('SetIdentityPoolRoles', { IdentityPoolId: shared, Roles: { unauthenticated: `arn:aws:iam::${ACCOUNT}:role/someone-else` } });
  await motoCall('iam', { Action: 'CreateRole', Version: '2010-05-08', RoleName: 'kinesis-edge-fresh-unauth', AssumeRolePolicyDocument: JSON.stringify(cognitoTrust(shared)) });
  const otherRole = await refused(['--stream', 'fresh', '--identity-pool', 'shared']);
  assert.equal(otherRole.status, 5);
  assert.match(otherRole.stderr, new RegExp(`identity pool ${shared} gives unauthenticated identities another role \\(arn:aws:iam::${ACCOUNT}:role/someone-else\\)`));

  await cognito('CreateIdentityPool', { IdentityPoolName: 'twice', AllowUnauthenticatedIdentities: true });
  await cognito('CreateIdentityPool', { IdentityPoolName: 'twice', AllowUnauthenticatedIdentities: true });
  const twice = await refused(['--stream', 'fresh', '--identity-pool', 'twice']);
  assert.equal(twice.status, 5);
  assert.match(twice.stderr, /2 identity pools are named "twice"/);

  await assert.rejects(describe('fresh'), (e) => e.name === 'ResourceNotFoundException', 'the stream was not created either');
});

test('IAM that has not propagated within --wait-seconds is a Timeout naming the last refusal', async () => {
  intercept = (operation) =>
    operation === 'AWSCognitoIdentityService.GetCredentialsForIdentity'
      ? json(400, { __type: 'InvalidIdentityPoolConfigurationException', message: 'Invalid identity pool configuration. Check assigned IAM roles for this pool.' })
      : undefined;
  try {
    const out = await setup(['--stream', 'slow-iam', '--identity-pool', 'slow iam', '--wait-seconds', '1']);
    assert.equal(out.status, 1);
    assert.match(out.stderr, /error \[Timeout\]: waited 1 s for IAM to propagate .*InvalidIdentityPoolConfigurationException.*Everything is created/);
  } finally {
    intercept = () => undefined;
  }
});

test('arguments are checked before any call', async () => {
  seen = [];
  const cases = [
    [['--stream', 's', '--shards', '0'], /--shards must be a whole number from 1 to 100000 \(got "0"\)/],
    [['--stream', 's', '--shards', '2', '--on-demand'], /--shards and --on-demand exclude each other/],
    [['--stream', 'no spaces'], /--stream: invalid option `streamName`: must be 1 to 128 characters of \[a-zA-Z0-9_.-\]/],
    [['--stream', 's', '--region', 'Nowhere'], /--region: invalid option `region`: must be an AWS region/],
    [['--stream', 's', '--retention-hours', '12'], /--retention-hours must be a whole number from 24 to 8760/],
    [['--stream', 's', '--colour'], /Unknown option '--colour'/],
    [['--stream', 'x'.repeat(60)], /--role must be 1-64 .* made from --stream: pass a shorter --role/],
  ];
  for (const [args, message] of cases) {
    const out = await setup(args);
    assert.equal(out.status, 2, `${args}: ${out.stderr}`);
    assert.match(out.stderr, /error \[InvalidOption\]/);
    assert.match(out.stderr, message);
  }
  const endpointOut = await setup(['--stream', 's'], undefined, 'ftp://127.0.0.1:1');
  assert.equal(endpointOut.status, 2);
  assert.match(endpointOut.stderr, /error \[InvalidOption\]: --endpoint: invalid option `endpoint`: scheme must be http or https/);
  assert.deepEqual(seen, []);
  const help = await run(process.execPath, [CLI, 'setup', '--help']);
  assert.match(help.stdout, /Usage: kinesis-edge setup --region R --stream NAME/);
  await assert.rejects(run(process.execPath, [CLI, 'teardown']), (e) => e.code === 2 && /unknown command "teardown"/.test(e.stderr));
});

test('Kinesis LimitExceeded and IAM/STS Throttling answers are retried with backoff', async () => {
  const throttled = new Map([
    ['sts:GetCallerIdentity', 2],
    ['Kinesis_20131202.CreateStream', 1],
  ]);
  intercept = (operation) => {
    const left = throttled.get(operation);
    if (!left) return undefined;
    throttled.set(operation, left - 1);
    return operation.startsWith('sts:')
      ? { status: 400, headers: { 'content-type': 'text/xml' }, body: '<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>' }
      : json(400, { __type: 'LimitExceededException', message: 'too many streams being created at once' });
  };
  seen = [];
  try {
    const out = await setup(['--stream', 'busy']);
    assert.equal(out.status, 0, out.stderr);
    assert.deepEqual(seen.filter((o) => o === 'sts:GetCallerIdentity' || o.endsWith('CreateStream')), [
      'sts:GetCallerIdentity',
      'sts:GetCallerIdentity',
      'sts:GetCallerIdentity',
      'Kinesis_20131202.CreateStream',
      'Kinesis_20131202.CreateStream',
    ]);
    assert.equal((await describe('busy')).StreamStatus, 'ACTIVE');
  } finally {
    intercept = () => undefined;
  }
});

test('the XML reader takes what AWS sends and refuses anything else', async () => {
  const { parseXml, xmlText, xmlFind } = await import('../../pkg-templates/setup/xml.js');
  const doc = parseXml('<?xml version="1.0" encoding="UTF-8"?>\n<R xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><a:B x=\'1\'>x &lt;&amp;&gt; &#65;&#x42; &quot;&apos;</a:B><C/><D><E>deep</E></D></R>');
  assert.equal(xmlText(doc, 'B'), 'x <&> AB "\'');
  assert.equal(xmlText(doc, 'C'), '');
  assert.equal(xmlText(xmlFind(doc, 'D'), 'E'), 'deep');
  assert.throws(() => xmlText(doc, 'Missing'), (e) => e.code === 'InvalidResponse' && /R\/Missing/.test(e.message));
  for (const bad of ['<R><!-- c --></R>', '<R><![CDATA[x]]></R>', '<!DOCTYPE R><R/>', '<R><A></R>', '<R></R><S/>', '<R>a & b</R>', '<R>&nbsp;</R>', '<R>&#x110000;</R>', '<R>', 'text']) {
    assert.throws(() => parseXml(bad), (e) => e.code === 'InvalidResponse', bad);
  }
  assert.throws(() => xmlText(parseXml('<R><A>1</A><A>2</A></R>'), 'A'), /occurs 2 times/);
  const { readPolicyDocument } = await import('../../pkg-templates/setup/policies.js');
  assert.deepEqual(readPolicyDocument('%7B%22a%22%3A1%7D'), { a: 1 });
  assert.throws(() => readPolicyDocument('%E0%A4%A'), (e) => e.code === 'InvalidResponse');
});

test('a create failing with a server error is not sent again; a refused SetIdentityPoolRoles names iam:PassRole', async () => {
  // A pool created but answered 500 would be a second pool of the name if sent again.
  let failed = false;
  intercept = (operation) => {
    if (!operation.endsWith('.CreateIdentityPool') || failed) return undefined;
    failed = true;
    return json(500, { __type: 'InternalErrorException', message: 'internal error' });
  };
  seen = [];
  try {
    const out = await setup(['--stream', 'once', '--identity-pool', 'once pages']);
    assert.equal(out.status, 1, out.stderr);
    assert.match(out.stderr, /run the command again, which finds what exists/);
    assert.equal(seen.filter((o) => o.endsWith('.CreateIdentityPool')).length, 1, 'not sent again');
    const again = await setup(['--stream', 'once', '--identity-pool', 'once pages']);
    assert.equal(again.status, 0, again.stderr);
  } finally {
    intercept = () => undefined;
  }
  intercept = (operation) =>
    operation.endsWith('.SetIdentityPoolRoles') ? json(400, { __type: 'NotAuthorizedException', message: "Access to Role 'r' is forbidden." }) : undefined;
  try {
    const out = await setup(['--stream', 'pass', '--identity-pool', 'pass pages']);
    assert.equal(out.status, 4, out.stderr);
    assert.match(out.stderr, /iam:PassRole/);
  } finally {
    intercept = () => undefined;
  }
});
