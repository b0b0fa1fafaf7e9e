// The setup command's arguments, checked before any call is made: a wrong value is an
// `InvalidOption` naming the flag. The region, stream name and endpoint are checked by the core
// by the rules the producer applies to them.
import { parseArgs } from 'node:util';
import { endpointUrl, streamFields } from '../kinesis_edge.js';
import { kinesisError } from '../errors.js';

export const USAGE = `Usage: kinesis-edge setup --region R --stream NAME [options]

Creates, or finds and leaves alone, what devices need to write to a Kinesis data stream: the
stream, an IAM role allowed exactly kinesis:PutRecords, kinesis:ListShards and
kinesis:DescribeStreamSummary on it and, with --identity-pool, a Cognito identity pool whose
unauthenticated identities get that role. Prints { streamArn, roleArn, identityPoolId, ... } and
the KinesisProducer options as JSON on stdout; progress on stderr.

  --region R             the stream's region (default: AWS_REGION, AWS_DEFAULT_REGION)
  --stream NAME          the stream (1-128 of a-z A-Z 0-9 _ . -)
  --shards N             a provisioned stream of N shards (default 1)
  --on-demand            an on-demand stream instead
  --identity-pool NAME   a Cognito identity pool for unauthenticated browser identities
                         (without it the role trusts the account, for workers and servers)
  --role NAME            the IAM role (default kinesis-edge-<stream>, or
                         kinesis-edge-<stream>-unauth with --identity-pool)
  --metrics              also allow cloudwatch:PutMetricData in one namespace
  --metrics-namespace NS that namespace (default KinesisProducerLibrary; implies --metrics)
  --retention-hours H    keep records at least H hours (24-8760); never shortened
  --endpoint URL         send every call to this URL (a local emulator such as moto)
  --wait-seconds S       longest wait for the stream to be ACTIVE and for IAM to
                         propagate (default 300)
  --dry-run              print the calls and the policy documents, change nothing

Credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN), else the profile
AWS_PROFILE (default "default") of ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE).`;

const OPTIONS = {
  region: { type: 'string' },
  stream: { type: 'string' },
  shards: { type: 'string' },
  'on-demand': { type: 'boolean' },
  'identity-pool': { type: 'string' },
  role: { type: 'string' },
  metrics: { type: 'boolean' },
  'metrics-namespace': { type: 'string' },
  'retention-hours': { type: 'string' },
  endpoint: { type: 'string' },
  'wait-seconds': { type: 'string' },
  'dry-run': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

function invalid(flag, why) {
  return kinesisError('InvalidOption', `--${flag} ${why}`, { field: flag });
}

function integer(values, flag, min, max, fallback) {
  const raw = values[flag];
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw invalid(flag, `must be a whole number from ${min} to ${max} (got "${raw}")`);
  return Number(raw);
}

function matching(values, flag, pattern, why) {
  const raw = values[flag];
  if (raw !== undefined && !pattern.test(raw)) throw invalid(flag, `${why} (got "${raw}")`);
  return raw;
}

/** The flags of the options the core checks. */
const FLAGS = { region: 'region', streamName: 'stream', endpoint: 'endpoint' };

/** The region, stream name and endpoint, checked as the producer checks them, before any call. */
function checkWithCore({ region, stream, endpoint }) {
  try {
    streamFields(region, stream);
    endpointUrl('kinesis', region, endpoint);
  } catch (e) {
    if (FLAGS[e.field]) e.message = `--${FLAGS[e.field]}: ${e.message}`;
    throw e;
  }
}

/** `{ help }`, or the checked options of `setup`. */
export function parseSetupArgs(args, env = process.env) {
  let parsed;
  try {
    parsed = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false });
  } catch (e) {
    throw kinesisError('InvalidOption', `${e.message}; see --help`);
  }
  const v = parsed.values;
  if (v.help) return { help: true };
  const region = v.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw invalid('region', 'is required (or set AWS_REGION)');
  const { stream, endpoint } = v;
  if (stream === undefined) throw invalid('stream', 'is required');
  checkWithCore({ region, stream, endpoint });
  if (v['on-demand'] && v.shards !== undefined) throw invalid('shards', 'and --on-demand exclude each other');
  const identityPool = matching(v, 'identity-pool', /^[\w\s+=,.@-]{1,128}$/, 'must be 1-128 of letters, digits, spaces and + = , . @ _ -');
  const role = v.role ?? `kinesis-edge-${stream}${identityPool === undefined ? '' : '-unauth'}`;
  if (!/^[\w+=,.@-]{1,64}$/.test(role)) {
    throw invalid('role', `must be 1-64 of letters, digits and + = , . @ _ - (got "${role}"${v.role ? '' : ', made from --stream: pass a shorter --role'})`);
  }
  const namespace = matching(v, 'metrics-namespace', /^[^:\s][^:]{0,254}$/, 'must be 1-255 characters, no colon, not starting with a space');
  return {
    region,
    stream,
    shards: v['on-demand'] ? undefined : integer(v, 'shards', 1, 100000, 1),
    onDemand: Boolean(v['on-demand']),
    identityPool,
    role,
    metricsNamespace: namespace ?? (v.metrics ? 'KinesisProducerLibrary' : undefined),
    retentionHours: integer(v, 'retention-hours', 24, 8760, undefined),
    endpoint,
    waitMs: integer(v, 'wait-seconds', 0, 86400, 300) * 1000,
    dryRun: Boolean(v['dry-run']),
  };
}
