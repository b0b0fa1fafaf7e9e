// `kinesis-edge setup`: in the order that works (the stream, the pool, the role trusting that
// pool and its policy, the pool's role, then the wait for IAM), each step finding what exists
// before creating anything, so a second run changes nothing and prints the same.
import { kinesisError } from '../errors.js';
import { awsClient } from './aws.js';
import { loadCredentials } from './credentials.js';
import { xmlText } from './xml.js';
import { accountTrust, cognitoTrust, producerPolicy } from './policies.js';
import { ensureStream } from './stream.js';
import { ensureRole, ensureRolePolicy } from './role.js';
import { ensurePool, ensurePoolRole, untilPoolCredentialsWork } from './pool.js';

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const FIRST_POLL_MS = 250;
const POLL_MS = 2000;

/** The code to paste: a producer writing with the role's credentials. */
function snippet({ region, endpoint, metricsNamespace }, streamArn, roleArn, identityPoolId, account) {
  const q = JSON.stringify;
  const credentials = identityPoolId
    ? [`  credentials: fromCognitoIdentityPool({ identityPoolId: ${q(identityPoolId)}${endpoint === undefined ? '' : `, endpoint: ${q(endpoint)}`} }),`]
    : [
        `  // Your function returning sts:AssumeRole credentials of ${roleArn}`,
        `  // ({ accessKeyId, secretAccessKey, sessionToken, expiration }); the role trusts account ${account}.`,
        '  credentials: getRoleCredentials,',
      ];
  // With --metrics the role may publish them, in the one namespace it allows.
  const metrics =
    metricsNamespace === undefined
      ? []
      : [
          `  metrics: { level: 'summary'${metricsNamespace === 'KinesisProducerLibrary' ? '' : `, namespace: ${q(metricsNamespace)}`}${endpoint === undefined ? '' : `, endpoint: ${q(endpoint)}`} },`,
        ];
  return [
    `import { KinesisProducer${identityPoolId ? ', fromCognitoIdentityPool' : ''} } from 'kinesis-edge${metrics.length ? '/metrics' : ''}';`,
    '',
    'const producer = new KinesisProducer({',
    `  region: ${q(region)},`,
    `  streamArn: ${q(streamArn)},`,
    ...(endpoint === undefined ? [] : [`  endpoint: ${q(endpoint)},`]),
    ...credentials,
    ...metrics,
    '});',
  ].join('\n');
}

/**
 * One pass over the steps. A dry pass makes only reads and records the calls that would change
 * something; a real pass makes them. `log` tells what was found (kept back in a dry pass that a
 * real one follows); `progress` tells of waits as they happen.
 */
async function pass(options, { aws, awsWith, account, partition, dryRun, log, progress }) {
  const calls = [];
  const ctx = {
    options,
    aws,
    awsWith,
    account,
    partition,
    dryRun,
    log,
    /** The names of the calls that change something, recorded in this pass. */
    changed: new Set(),
    /** A call that changes something: recorded, and made unless this is a dry pass. */
    async change(call, input, perform) {
      calls.push({ call, input });
      ctx.changed.add(call);
      if (dryRun) return undefined;
      log(`${call} ${JSON.stringify(input)}`);
      return perform();
    },
    /** Polls `attempt` until it gives a value, for at most --wait-seconds, at growing intervals
     * (what is quick is seen quickly; what takes minutes is not asked every moment). */
    async waitUntil(what, attempt, detail = () => '') {
      const deadline = Date.now() + options.waitMs;
      for (let interval = FIRST_POLL_MS; ; interval = Math.min(interval * 2, POLL_MS)) {
        const value = await attempt();
        if (value !== undefined) return value;
        const left = deadline - Date.now();
        if (left <= 0) throw kinesisError('Timeout', `waited ${options.waitMs / 1000} s for ${what}${detail()} (--wait-seconds)`);
        progress(`waiting for ${what}`);
        await pause(Math.min(interval, left));
      }
    },
  };
  const streamArn = await ensureStream(ctx);
  const identityPoolId = options.identityPool === undefined ? null : await ensurePool(ctx);
  const trustPolicy = identityPoolId ? cognitoTrust(identityPoolId) : accountTrust(partition, account);
  const policy = producerPolicy(streamArn, options.metricsNamespace);
  const roleArn = await ensureRole(ctx, trustPolicy);
  await ensureRolePolicy(ctx, policy);
  if (identityPoolId) await ensurePoolRole(ctx, identityPoolId, roleArn);
  if (!dryRun && identityPoolId && calls.length > 0) await untilPoolCredentialsWork(ctx, identityPoolId);
  return { streamArn, roleArn, identityPoolId, calls, trustPolicy, policy };
}

/**
 * Run the setup for checked `options` (see args.js). `log(line)` reports progress. Resolves to
 * what the command prints: `{ streamArn, roleArn, identityPoolId, trust, options, snippet }`, or
 * with `dryRun` `{ dryRun, calls, trustPolicy, policy, ... }`.
 *
 * A dry pass always comes first, so a name taken by something else or a stream being deleted
 * stops the command before it has created anything; the real pass follows only when the dry
 * one found something to do (a second run makes reads only).
 */
export async function runSetup(options, { log = () => {} } = {}) {
  const { region, endpoint } = options;
  const credentials = loadCredentials();
  const awsWith = (c) => awsClient({ region, endpoint, credentials: c });
  const aws = awsWith(credentials);
  const caller = await aws.query('sts', 'GetCallerIdentity');
  const account = xmlText(caller, 'Account');
  const partition = xmlText(caller, 'Arn').split(':')[1];
  const base = { aws, awsWith, account, partition, progress: log };

  const notes = [];
  const plan = await pass(options, { ...base, dryRun: true, log: (line) => notes.push(line) });
  const settled = options.dryRun || plan.calls.length === 0;
  if (settled) notes.forEach((line) => log(line));
  if (options.dryRun) return { dryRun: true, account, ...plan };
  const { streamArn, roleArn, identityPoolId } = settled ? plan : await pass(options, { ...base, dryRun: false, log });
  return {
    streamArn,
    roleArn,
    identityPoolId,
    trust: identityPoolId
      ? `unauthenticated identities of Cognito identity pool ${identityPoolId} (browsers)`
      : `principals of account ${account} allowed sts:AssumeRole on it (workers, servers)`,
    options: { region, streamArn, ...(endpoint !== undefined && { endpoint }) },
    snippet: snippet(options, streamArn, roleArn, identityPoolId, account),
  };
}
