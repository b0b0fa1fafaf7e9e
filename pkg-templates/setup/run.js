// `kinesis-edge setup`: in the order that works (pool, then the role trusting that pool, then
// the pool's role, then the wait for IAM), each step finding what exists before creating
// anything, so a second run changes nothing and prints the same.
import { endpointUrl } from '../kinesis_edge.js';
import { kinesisError } from '../errors.js';
import { awsClient } from './aws.js';
import { loadCredentials } from './credentials.js';
import { xmlText } from './xml.js';
import { accountTrust, cognitoTrust, producerPolicy } from './policies.js';
import { ensureStream } from './stream.js';
import { ensureRole, ensureRolePolicy } from './role.js';
import { ensurePool, ensurePoolRole, untilPoolCredentialsWork } from './pool.js';

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const POLL_MS = 2000;

/** The code to paste: a producer writing with the role's credentials. */
function snippet({ region, endpoint }, streamArn, roleArn, identityPoolId, account) {
  const q = JSON.stringify;
  const at = endpoint === undefined ? '' : `, endpoint: ${q(endpoint)}`;
  const lines = identityPoolId
    ? [
        "import { KinesisProducer, fromCognitoIdentityPool } from 'kinesis-edge';",
        '',
        'const producer = new KinesisProducer({',
        `  region: ${q(region)},`,
        `  streamArn: ${q(streamArn)},`,
        ...(endpoint === undefined ? [] : [`  endpoint: ${q(endpoint)},`]),
        `  credentials: fromCognitoIdentityPool({ identityPoolId: ${q(identityPoolId)}${at} }),`,
        '});',
      ]
    : [
        "import { KinesisProducer } from 'kinesis-edge';",
        '',
        'const producer = new KinesisProducer({',
        `  region: ${q(region)},`,
        `  streamArn: ${q(streamArn)},`,
        ...(endpoint === undefined ? [] : [`  endpoint: ${q(endpoint)},`]),
        `  // Your function returning sts:AssumeRole credentials of ${roleArn}`,
        `  // ({ accessKeyId, secretAccessKey, sessionToken, expiration }); the role trusts account ${account}.`,
        '  credentials: getRoleCredentials,',
        '});',
      ];
  return lines.join('\n');
}

/**
 * Run the setup for checked `options` (see args.js). `log(line)` reports progress. Resolves to
 * what the command prints: `{ streamArn, roleArn, identityPoolId, trust, options, snippet }`, or
 * in a dry run `{ dryRun, calls, trustPolicy, policy, ... }`.
 */
export async function runSetup(options, { log = () => {}, env = process.env, fetch } = {}) {
  const { region, endpoint, dryRun, identityPool, metricsNamespace } = options;
  endpointUrl('kinesis', region, endpoint); // a bad --endpoint is refused before anything else
  const credentials = loadCredentials(env);
  const awsWith = (c) => awsClient({ region, endpoint, credentials: c, fetch });
  const calls = [];
  const ctx = {
    options,
    log,
    aws: awsWith(credentials),
    awsWith,
    created: new Set(),
    /** A call that changes something: recorded, and made unless this is a dry run. */
    async change(call, input, perform) {
      calls.push({ call, input });
      ctx.created.add(call);
      if (dryRun) return undefined;
      log(`${call} ${JSON.stringify(input)}`);
      return perform();
    },
    /** Polls `attempt` until it gives a value, for at most --wait-seconds. */
    async waitUntil(what, attempt, detail = () => '') {
      const deadline = Date.now() + options.waitMs;
      for (;;) {
        const value = await attempt();
        if (value !== undefined) return value;
        const left = deadline - Date.now();
        if (left <= 0) throw kinesisError('Timeout', `waited ${options.waitMs / 1000} s for ${what}${detail()} (--wait-seconds)`);
        log(`waiting for ${what}`);
        await pause(Math.min(POLL_MS, left));
      }
    },
  };

  const caller = await ctx.aws.query('sts', 'GetCallerIdentity');
  ctx.account = xmlText(caller, 'Account');
  ctx.partition = xmlText(caller, 'Arn').split(':')[1];

  const streamArn = await ensureStream(ctx);
  const identityPoolId = identityPool === undefined ? null : await ensurePool(ctx);
  const trustPolicy = identityPoolId ? cognitoTrust(identityPoolId) : accountTrust(ctx.partition, ctx.account);
  const policy = producerPolicy(streamArn, metricsNamespace);
  const roleArn = await ensureRole(ctx, trustPolicy);
  await ensureRolePolicy(ctx, policy);
  if (identityPoolId) await ensurePoolRole(ctx, identityPoolId, roleArn);

  if (dryRun) return { dryRun: true, account: ctx.account, streamArn, roleArn, identityPoolId, calls, trustPolicy, policy };
  if (identityPoolId && ctx.created.size > 0) await untilPoolCredentialsWork(ctx, identityPoolId);
  return {
    streamArn,
    roleArn,
    identityPoolId,
    trust: identityPoolId
      ? `unauthenticated identities of Cognito identity pool ${identityPoolId} (browsers)`
      : `principals of account ${ctx.account} allowed sts:AssumeRole on it (workers, servers)`,
    options: { region, streamArn, ...(endpoint !== undefined && { endpoint }) },
    snippet: snippet(options, streamArn, roleArn, identityPoolId, ctx.account),
  };
}
