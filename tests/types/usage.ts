// Compiled with `tsc --noEmit --strict` against the built package's types: the documented API
// must type-check, and misuse must not (each @ts-expect-error line is a required error).
import {
  KinesisProducer,
  signRequest,
  isKinesisEdgeError,
  deaggregate,
  type KinesisEdgeError,
  type UserRecord,
  type PutRecordResult,
  type ProducerStats,
  type SignedHeaders,
} from 'kinesis-edge';
// The metrics entry has the same API (and types).
import { KinesisProducer as MeteredProducer } from 'kinesis-edge/metrics';

const producer = new KinesisProducer({
  region: 'us-east-1',
  streamName: 'readings',
  endpoint: 'http://127.0.0.1:4567',
  credentials: async () => ({ accessKeyId: 'a', secretAccessKey: 'b', sessionToken: 't', expiration: new Date() }),
  lingerMs: 50,
  aggregation: { maxBytes: 25_000, shardMapRefreshMs: 30_000 },
  fetch: (url, init) => fetch(url, init),
});

async function use(): Promise<void> {
  const one: PutRecordResult = await producer.put({ data: { t: 1 }, partitionKey: 'k' });
  const many: PutRecordResult[] = await producer.putMany([{ data: new Uint8Array([1]), partitionKey: 'k', explicitHashKey: '1' }]);
  const stats: ProducerStats = producer.stats();
  const sub: number | undefined = one.subSequenceNumber;
  const mode: 'off' | 'waiting-for-shard-map' | 'by-shard' | 'by-partition-key' | 'auto-distribution' = stats.aggregation;
  const saved: number = stats.putPayloadUnits / Math.max(1, stats.recordsAcknowledged);
  void sub, mode, saved;
  const headers: SignedHeaders = await signRequest({
    url: new URL('https://example.amazonaws.com/'),
    region: 'us-east-1',
    service: 'execute-api',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  try {
    await producer.close();
  } catch (e) {
    if (isKinesisEdgeError(e)) {
      const code: KinesisEdgeError['code'] = e.code;
      void code;
    }
  }
  void one, many, stats, headers.authorization;
  // @ts-expect-error region is required
  new KinesisProducer({ streamName: 's', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  // A record without a partition key is typed (an AUTO stream takes it); a key must be a string.
  void producer.put({ data: 'x' });
  // @ts-expect-error partitionKey is a string
  void producer.put({ data: 'x', partitionKey: 7 });
  // @ts-expect-error aggregation is a boolean or an options object
  new KinesisProducer({ region: 'r', streamName: 's', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, aggregation: 'on' });
  // @ts-expect-error lingerMs is a number
  new KinesisProducer({ region: 'r', streamName: 's', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, lingerMs: '5' });
  const metered = new MeteredProducer({
    region: 'r',
    streamName: 's',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    metrics: { level: 'summary', granularity: 'stream', namespace: 'Kiosks', intervalMs: 60_000, dimensions: { Fleet: 'lobby' } },
  }).useContext({ waitUntil: (p: Promise<unknown>) => void p });
  const uploads: number | undefined = metered.stats().metricsUploads;
  void uploads;
  // @ts-expect-error level is 'none', 'summary' or 'detailed'
  new KinesisProducer({ region: 'r', streamName: 's', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, metrics: { level: 'all' } });
}
void use;

function consume(event: { Records: { kinesis: { data: string; partitionKey: string; sequenceNumber: string; approximateArrivalTimestamp: number } }[] }): string[] {
  const users: UserRecord[] = deaggregate(event.Records, { hashKeyRange: { startingHashKey: '0', endingHashKey: '99' } });
  const sdkRecord: { SequenceNumber: string | undefined; Data: Uint8Array | undefined; ApproximateArrivalTimestamp?: Date | undefined; PartitionKey?: string | undefined; EncryptionType?: 'NONE' | 'KMS' | undefined } = {
    SequenceNumber: '1',
    Data: new Uint8Array([1]),
  };
  const fromSdk = deaggregate([sdkRecord, { Data: 'AQ==', SequenceNumber: '2', ApproximateArrivalTimestamp: 1.5 }]);
  const at: number | undefined = fromSdk[0]?.arrivedAt;
  void at;
  try {
    deaggregate([]);
  } catch (e) {
    if (isKinesisEdgeError(e) && e.code === 'MalformedAggregate') return [e.sequenceNumber ?? ''];
  }
  // @ts-expect-error records are Kinesis records, not bytes
  deaggregate([new Uint8Array([1])]);
  // @ts-expect-error the hash key range's bounds are decimal strings
  deaggregate([], { hashKeyRange: { startingHashKey: 0n, endingHashKey: 1n } });
  return users.map((u) => `${u.sequenceNumber}/${u.subSequenceNumber ?? 0}`);
}
void consume;
// signDeviceRequest: the Standard Webhooks headers a device sends.
import { signDeviceRequest, type DeviceRequestHeaders } from 'kinesis-edge';
async function signAsDevice(): Promise<void> {
  const signed: DeviceRequestHeaders = await signDeviceRequest({ deviceId: 'thermo-1', secret: 'whsec_a2V5', body: '{"temperature":21}', timestamp: new Date() });
  const headers: Record<string, string> = { ...signed };
  void headers['webhook-signature'];
  // @ts-expect-error the body is required
  void signDeviceRequest({ deviceId: 'thermo-1', secret: 'whsec_a2V5' });
}
void signAsDevice;
