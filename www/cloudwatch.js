// The stream's own metrics, as Kinesis reports them to CloudWatch (namespace AWS/Kinesis,
// dimension StreamName), read with GetMetricData in CloudWatch's query protocol (form-encoded
// parameters, XML answers, as every region and moto accept), signed for `monitoring` by the
// package's signRequest. Without permission or without CloudWatch (a local emulator) the page
// shows them as unavailable: they are a view, not part of streaming.
import { signedPost } from './aws.js';

export const STREAM_METRICS = [
  { id: 'incomingRecords', name: 'IncomingRecords', stat: 'Sum' },
  { id: 'incomingBytes', name: 'IncomingBytes', stat: 'Sum' },
  { id: 'writeExceeded', name: 'WriteProvisionedThroughputExceeded', stat: 'Sum' },
  { id: 'throttledRecords', name: 'PutRecords.ThrottledRecords', stat: 'Sum' },
  { id: 'iteratorAge', name: 'GetRecords.IteratorAgeMilliseconds', stat: 'Maximum' },
];

/**
 * CloudWatch's endpoint: `configured` when given; beside AWS's own Kinesis endpoint, the
 * region's (FIPS and China partitions kept); otherwise the Kinesis endpoint itself, as
 * emulators that serve every service on one port (LocalStack, moto) answer there.
 */
export function cloudWatchEndpoint(kinesisEndpoint, region, configured) {
  if (configured) return configured;
  const url = new URL(kinesisEndpoint);
  const aws = /^kinesis(-fips)?\.[a-z0-9-]+\.(amazonaws\.com(?:\.cn)?)$/.exec(url.hostname);
  return aws ? `https://monitoring${aws[1] ?? ''}.${region}.${aws[2]}/` : `${url.origin}/`;
}

/** GetMetricData's form parameters for every stream metric over [start, end). */
function query(streamName, start, end, periodSeconds, nextToken) {
  const p = new URLSearchParams({ Action: 'GetMetricData', Version: '2010-08-01', StartTime: new Date(start).toISOString(), EndTime: new Date(end).toISOString(), ScanBy: 'TimestampAscending' });
  STREAM_METRICS.forEach((m, i) => {
    const q = `MetricDataQueries.member.${i + 1}.`;
    p.set(`${q}Id`, m.id);
    p.set(`${q}MetricStat.Metric.Namespace`, 'AWS/Kinesis');
    p.set(`${q}MetricStat.Metric.MetricName`, m.name);
    p.set(`${q}MetricStat.Metric.Dimensions.member.1.Name`, 'StreamName');
    p.set(`${q}MetricStat.Metric.Dimensions.member.1.Value`, streamName);
    p.set(`${q}MetricStat.Period`, String(periodSeconds));
    p.set(`${q}MetricStat.Stat`, m.stat);
  });
  if (nextToken) p.set('NextToken', nextToken);
  return p.toString();
}

const texts = (parent, selector) => [...parent.querySelectorAll(selector)].map((e) => e.textContent.trim());

/**
 * The stream's metrics for the last `minutes`, one point per `periodSeconds`:
 * `{ times: [epoch ms], values: { [id]: [number | null] } }` on one time axis, oldest first.
 * Rejects with an Error saying why CloudWatch did not give them.
 */
export async function streamMetrics({ endpoint, region, credentials, streamName, minutes = 60, periodSeconds = 60, now = Date.now() }) {
  const end = Math.ceil(now / 60_000) * 60_000;
  const start = end - minutes * 60_000;
  const points = new Map(STREAM_METRICS.map((m) => [m.id, new Map()]));
  let nextToken;
  do {
    const answer = await signedPost({
      url: endpoint,
      region,
      service: 'monitoring',
      credentials,
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: query(streamName, start, end, periodSeconds, nextToken),
    });
    const xml = new DOMParser().parseFromString(answer.text, 'application/xml');
    const fault = xml.querySelector('Error > Code')?.textContent;
    if (!answer.ok || fault) throw new Error(fault ? `${fault}: ${xml.querySelector('Error > Message')?.textContent ?? ''}` : `HTTP ${answer.status} (not a CloudWatch answer)`);
    if (!xml.querySelector('GetMetricDataResult')) throw new Error('not a CloudWatch answer');
    for (const result of xml.querySelectorAll('MetricDataResults > member')) {
      const series = points.get(result.querySelector(':scope > Id')?.textContent);
      if (!series) continue;
      const times = texts(result, ':scope > Timestamps > member');
      const values = texts(result, ':scope > Values > member');
      times.forEach((t, i) => series.set(Date.parse(t), Number(values[i])));
    }
    nextToken = xml.querySelector('GetMetricDataResult > NextToken')?.textContent || undefined;
  } while (nextToken);
  const times = [...new Set([...points.values()].flatMap((s) => [...s.keys()]))].sort((a, b) => a - b);
  const values = Object.fromEntries([...points].map(([id, s]) => [id, times.map((t) => s.get(t) ?? null)]));
  return { times, values };
}
