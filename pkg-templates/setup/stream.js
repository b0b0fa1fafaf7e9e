// The stream: found and left alone, or created; waited for until ACTIVE. Retention is only ever
// raised (lowering it would drop stored records).
import { kinesisError } from '../errors.js';

async function describe(ctx) {
  try {
    const { StreamDescriptionSummary: summary } = await ctx.aws.json('kinesis', 'DescribeStreamSummary', { StreamName: ctx.options.stream });
    if (!summary?.StreamARN || !summary.StreamStatus) throw kinesisError('InvalidResponse', 'kinesis:DescribeStreamSummary answered without StreamARN and StreamStatus');
    return summary;
  } catch (e) {
    if (e.awsCode === 'ResourceNotFoundException') return null;
    throw e;
  }
}

function notUsable(name, status) {
  const what = status === 'DELETING' ? 'is being deleted: run this again once it is gone (or choose another --stream)' : `is ${status}`;
  return kinesisError('Validation', `stream "${name}" ${what}`, { resource: 'stream', status });
}

/** Until the stream is ACTIVE (CREATING and UPDATING are waited for). */
function untilActive(ctx) {
  return ctx.waitUntil(`stream "${ctx.options.stream}" to become ACTIVE`, async () => {
    const summary = await describe(ctx);
    if (!summary) throw kinesisError('NotFound', `stream "${ctx.options.stream}" disappeared while it was being set up`, { resource: 'stream' });
    if (summary.StreamStatus === 'ACTIVE') return summary;
    if (summary.StreamStatus !== 'CREATING' && summary.StreamStatus !== 'UPDATING') throw notUsable(ctx.options.stream, summary.StreamStatus);
    return undefined;
  });
}

/** The stream's ARN, once it is ACTIVE (in a dry run, the ARN it would have). */
export async function ensureStream(ctx) {
  const { stream, shards, onDemand, retentionHours } = ctx.options;
  let summary = await describe(ctx);
  if (!summary) {
    const input = onDemand ? { StreamName: stream, StreamModeDetails: { StreamMode: 'ON_DEMAND' } } : { StreamName: stream, ShardCount: shards };
    await ctx.change('kinesis:CreateStream', input, () => ctx.aws.json('kinesis', 'CreateStream', input));
    // A new stream keeps records 24 hours: a dry run plans the retention change too.
    summary = ctx.dryRun
      ? { StreamARN: `arn:${ctx.partition}:kinesis:${ctx.options.region}:${ctx.account}:stream/${stream}`, RetentionPeriodHours: 24 }
      : await untilActive(ctx);
  } else {
    if (summary.StreamStatus !== 'ACTIVE') summary = await untilActive(ctx);
    const mode = summary.StreamModeDetails?.StreamMode;
    const asked = onDemand ? 'ON_DEMAND' : 'PROVISIONED';
    ctx.log(`stream "${stream}" exists (${mode ?? 'PROVISIONED'}, ${summary.OpenShardCount} open shards): left as it is${mode && mode !== asked ? ` (asked for ${asked})` : ''}`);
  }
  if (retentionHours !== undefined && summary.RetentionPeriodHours < retentionHours) {
    const input = { StreamName: stream, RetentionPeriodHours: retentionHours };
    await ctx.change('kinesis:IncreaseStreamRetentionPeriod', input, () => ctx.aws.json('kinesis', 'IncreaseStreamRetentionPeriod', input));
    if (!ctx.dryRun) await untilActive(ctx);
  } else if (retentionHours !== undefined && summary.RetentionPeriodHours > retentionHours) {
    ctx.log(`stream "${stream}" keeps records ${summary.RetentionPeriodHours} hours, more than --retention-hours: left as it is`);
  }
  return summary.StreamARN;
}
