/** Static AWS credentials. Prefer temporary credentials (with `sessionToken`) in browsers. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** When these credentials stop working; a provider is called again before then. */
  expiration?: Date | number | string;
}

/** Called whenever credentials are needed and the cached ones are missing or about to expire. */
export type CredentialsProvider = () => AwsCredentials | Promise<AwsCredentials>;

/** Every option is checked: a wrong type, a value out of range or an unknown name throws an
 * `InvalidOption` error naming it. */
export interface KinesisProducerOptions {
  /** AWS region, e.g. `"us-east-1"`; requests are signed for it. */
  region: string;
  /** Stream name (1 to 128 of `[a-zA-Z0-9_.-]`). Give this, `streamArn`, or both. */
  streamName?: string;
  /** Stream ARN; recommended, and needed to write to another account's stream. */
  streamArn?: string;
  /** Default `https://kinesis.<region>.amazonaws.com`; any http(s) URL, e.g. a local emulator. */
  endpoint?: string;
  credentials: AwsCredentials | CredentialsProvider;
  /** How long a batch waits for more records after its first one. Default 100, 0 to 60000. */
  lingerMs?: number;
  /** Records per PutRecords call, 1 to 500. Default 500. */
  maxRecordsPerRequest?: number;
  /** Largest request: data plus partition keys, as Kinesis counts it (base64 not counted). Default and at most 10 MiB. */
  maxRequestBytes?: number;
  /** Largest record (data plus partition key bytes), at most 10 MiB. Default: the stream's
   * `MaxRecordSizeInKiB` (records over 1 MiB wait for it); when set, the smaller of the two. */
  maxRecordBytes?: number;
  /** Requests in flight at once, 1 to 64. Default 4 (1 while the retry quota is spent). */
  maxInFlightRequests?: number;
  /** A record not delivered this long after `put` settles as `Expired`. Default 30000; `Infinity` never. */
  recordTtlMs?: number;
  /** A request with no complete answer after this long is aborted and retried. Default 10000. */
  requestTimeoutMs?: number;
  /** Records accepted and not yet settled (buffered or in flight). Default 10000. */
  maxBufferedRecords?: number;
  /** Their bytes (data plus keys). Default 8 MiB, or `maxRecordBytes` when larger (10 MiB when unset); at least 1 MiB (or `maxRecordBytes`). */
  maxBufferedBytes?: number;
  /** When the buffer is full, `put` waits for room (default) or rejects at once with `BufferFull`. */
  onBufferFull?: 'wait' | 'reject';
  /** How long `close()` waits before settling what is left as `Closed`. Default 30000; `Infinity` waits. */
  closeTimeoutMs?: number;
  /** `'per-key'`: one record per key in flight, so each key's records are stored in order
   * through retries (lower throughput for busy keys). Default `'arrival'`. */
  ordering?: 'arrival' | 'per-key';
  /** Pack small records into KPL-format aggregated records (decoded by the KCL, Lambda with the
   * aggregation libraries and aws-kinesis-agg). `true`, or an object (`enabled` defaults to true).
   * Default off. Needs `kinesis:ListShards` to group by shard; without it, only records with the
   * same partition key share an aggregate. */
  aggregation?: boolean | AggregationOptions;
  /** The stream's settings as they are, instead of asking with `DescribeStreamSummary` (limited
   * to 20 calls per second per account; the answer is shared by the producers of a page or
   * isolate for 60 s). `AUTO` turns aggregation off; `maxRecordSizeInKiB` bounds records. */
  streamSettings?: StreamSettings;
  /** Per-shard rate limiting: each shard of the shard map (read with `ListShards`, needs
   * `kinesis:ListShards`) gets token buckets for records and bytes at `percent` (default 100)
   * of the shard write limits (1,000 records/s, 1 MiB/s), lowered while the service throttles
   * anyway (other writers) and raised back after. Off by default, and on AUTO streams. */
  rateLimit?: boolean | { percent?: number };
  /** On a page: when it is hidden or going away (`visibilitychange`, `pagehide`), send what
   * fits the browser's 64 KiB keepalive budget at once in keepalive requests. Default true. */
  lifecycle?: boolean;
  /** `'indexeddb'`: keep every accepted reading in IndexedDB until Kinesis acknowledged it, and
   * send what is left (closed page, offline, outage) when back online or on the next load.
   * Needs IndexedDB and Web Locks (a secure context). */
  spool?: 'indexeddb';
  /** Size cap of the whole spool, all tabs together (UTF-8 bytes of data plus partition keys).
   * Beyond it, new readings are kept in memory only, counted in `stats().spoolOverflowRecords`.
   * Default 10 MiB. */
  spoolMaxBytes?: number;
  /** IndexedDB database name. Default `kinesis-edge:<streamArn or streamName>`. */
  spoolName?: string;
  /** Replaces the transport (the global fetch; node:http(s) in Node), e.g.
   * `(req, init) => env.KINESIS.fetch(req, init)`. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** CloudWatch metrics with the KPL's names, units and dimensions. Default: none published.
   * Only producers imported from `kinesis-edge/metrics` publish them (its wasm carries their
   * code; the default entry's does not): elsewhere a level other than `'none'` throws
   * `InvalidOption`. */
  metrics?: MetricsOptions;
}

/** The KPL's metrics, published with CloudWatch `PutMetricData` as statistic sets, signed with
 * the producer's credentials (they need `cloudwatch:PutMetricData`). */
export interface MetricsOptions {
  /** `'summary'`: UserRecordsPut, KinesisRecordsPut, ErrorsByCode, AllErrors, UserRecordExpired,
   * BufferingTime; `'detailed'` adds the rest. Default `'none'`: nothing is gathered or sent. */
  level?: 'none' | 'summary' | 'detailed';
  /** Dimension sets each metric is published under, each with those before it: none,
   * `StreamName`, `StreamName` + `ShardId`. Default `'shard'`, as the KPL. */
  granularity?: 'global' | 'stream' | 'shard';
  /** Default `'KinesisProducerLibrary'`. */
  namespace?: string;
  /** Published at most once per interval, and what is pending at `close()`. Default 60,000,
   * from 1,000 to 60,000 (the KPL's bounds). */
  intervalMs?: number;
  /** Added to every metric, e.g. `{ Fleet: 'kiosks' }` (at most 27). */
  dimensions?: Record<string, string>;
  /** Default `https://monitoring.<region>.amazonaws.com/`. */
  endpoint?: string;
}

export interface StreamSettings {
  /** Default `'USER_PARTITION_KEY'`. */
  recordDistributionStrategy?: 'AUTO' | 'USER_PARTITION_KEY';
  /** 1024 to 10240. Default 1024. */
  maxRecordSizeInKiB?: number;
}

export interface AggregationOptions {
  enabled?: boolean;
  /** Largest aggregated record (data plus partition key). Default 50000 (two PUT payload units), 256 to `maxRecordBytes`. */
  maxBytes?: number;
  /** How often the shard map is read again while records flow. Default 60000, at least 1000. */
  shardMapRefreshMs?: number;
}

export interface PutRecordInput {
  /** Bytes are sent as they are, strings as UTF-8, anything else as its JSON text. */
  data: Uint8Array | ArrayBuffer | ArrayBufferView | string | unknown;
  /** 1 to 256 Unicode characters; its MD5 picks the shard. Optional on a stream with `AUTO`
   * record distribution only (the record is then sent without one). */
  partitionKey?: string;
  /** Decimal from 0 to 2^128-1; overrides the partition key's hash. */
  explicitHashKey?: string;
}

export interface PutRecordResult {
  sequenceNumber: string;
  shardId: string;
  /** The record's index inside the aggregated Kinesis record that carried it. */
  subSequenceNumber?: number;
}

/** How records are aggregated now (`ProducerStats.aggregation`). */
export type AggregationMode =
  | 'off'
  | 'waiting-for-shard-map'
  | 'by-shard'
  | 'by-partition-key'
  | 'auto-distribution';

export interface ProducerStats {
  recordsAccepted: number;
  bytesAccepted: number;
  /** User records sent (every attempt), and the Kinesis records that carried them. */
  recordsSent: number;
  kinesisRecordsSent: number;
  bytesSent: number;
  recordsAcknowledged: number;
  kinesisRecordsAcknowledged: number;
  /** PUT payload units of the acknowledged Kinesis records (25 KB each, rounded up per record). */
  putPayloadUnits: number;
  bytesAcknowledged: number;
  recordsFailed: number;
  bytesFailed: number;
  /** Of the failed records, those whose time to live ran out. */
  recordsExpired: number;
  /** Records sent again after a retryable failure, and how many of those were throttled. */
  retries: number;
  throttles: number;
  requests: number;
  requestsFailed: number;
  bufferedRecords: number;
  bufferedBytes: number;
  inFlightRequests: number;
  inFlightRecords: number;
  /** Failures per error code, every attempt counted, e.g. `{ Throttled: 3 }`. */
  failuresByCode: Partial<Record<KinesisEdgeErrorCode, number>>;
  /** How long the producer still waits before its next request (backoff). */
  currentBackoffMs: number;
  /** Server clock minus local clock, as corrected for signing. */
  clockOffsetMs: number;
  /** Request latency over the last 512 answers; `null` before the first. */
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  aggregation: AggregationMode;
  /** Why records are not grouped by shard, when that happened (e.g. `ListShards` refused). */
  aggregationNote: string | null;
  /** Why the stream's settings are unknown, when `DescribeStreamSummary` failed or was refused
   * (records are then checked against `maxRecordBytes`, else 1 MiB). */
  streamNote: string | null;
  /** Open shards in the shard map (0 without one). */
  shardCount: number;
  /** Acknowledged user records per acknowledged Kinesis record (1 without aggregation; 0 before the first). */
  recordsPerKinesisRecord: number;
  /** Records given to `put` that wait for room in a full buffer. */
  waitingRecords: number;
  /** With `spool`: readings in the spool (all tabs, as of this page's last spool transaction),
   * their bytes, readings not spooled (cap reached, or IndexedDB failing), readings sent again
   * from the spool, and why IndexedDB is not usable, if it is not. */
  spooledRecords?: number;
  spooledBytes?: number;
  spoolOverflowRecords?: number;
  spoolResent?: number;
  spoolError?: string;
  /** With `metrics`: `PutMetricData` calls accepted and failed (every attempt) by this page's or
   * isolate's publisher, statistic sets dropped after their one retry failed too, and the last
   * failure (`Code (HTTP status)` or the transport's message). */
  metricsUploads?: number;
  metricsFailedUploads?: number;
  metricsDropped?: number;
  metricsError?: string | null;
}

export type KinesisEdgeErrorCode =
  | 'InvalidOption'
  | 'InvalidRecord'
  | 'Closed'
  | 'Credentials'
  | 'ExpiredCredentials'
  | 'Signing'
  | 'ClockSkew'
  | 'Throttled'
  | 'ServiceUnavailable'
  | 'Network'
  | 'NotFound'
  | 'AccessDenied'
  | 'Validation'
  | 'Kms'
  | 'InvalidResponse'
  | 'RequestFailed'
  | 'Timeout'
  | 'Expired'
  | 'BufferFull'
  | 'MalformedAggregate';

/** Every error kinesis-edge throws or rejects with. */
export interface KinesisEdgeError extends Error {
  name: 'KinesisEdgeError';
  code: KinesisEdgeErrorCode;
  /** The option that was refused, for `InvalidOption`. */
  field?: string;
  /** The service's own error name, e.g. `ProvisionedThroughputExceededException`. */
  awsCode?: string;
  /** HTTP status of the answer that failed the request. */
  status?: number;
  /** Whether sending again could succeed. */
  retryable?: boolean;
  /** On `Expired`: the code of the last failure before the time to live ran out. */
  lastCode?: KinesisEdgeErrorCode;
  /** With `spool`: the reading was not delivered but stays spooled, to be sent later. */
  spooled?: boolean;
  /** On `MalformedAggregate` (and `InvalidRecord` from `deaggregate`): the Kinesis record's sequence number. */
  sequenceNumber?: string;
  /** On a `putMany` rejection: every record's outcome, in order. */
  results?: PromiseSettledResult<PutRecordResult>[];
}

export function isKinesisEdgeError(value: unknown): value is KinesisEdgeError;

export class KinesisProducer {
  /** Throws a `KinesisEdgeError` (`InvalidOption`, `Credentials`) for bad options. */
  constructor(options: KinesisProducerOptions);
  /** Resolves once Kinesis stored the record; rejects with a `KinesisEdgeError`. */
  put(record: PutRecordInput): Promise<PutRecordResult>;
  /** Results in order; rejects with the first failure once all have settled. */
  putMany(records: PutRecordInput[]): Promise<PutRecordResult[]>;
  /** Sends everything buffered now and resolves when all of it has settled. */
  flush(): Promise<void>;
  /** Refuses new records (`Closed`), sends the rest, resolves when all has settled or, after
   * `timeoutMs` (default `closeTimeoutMs`), settles what is left as `Closed`. */
  close(options?: { timeoutMs?: number }): Promise<void>;
  /** Workers: the execution context (`ctx` of `fetch`, `queue` or `scheduled`) of the request
   * or batch using the producer now; metrics uploads run under its `waitUntil`, and `close()`
   * leaves pending metrics to the isolate's next interval. Returns the producer. */
  useContext(ctx: { waitUntil(promise: Promise<unknown>): void }): this;
  stats(): ProducerStats;
}

export interface SignRequestInput {
  method?: string;
  url: string | URL;
  headers?: Record<string, string> | [string, string][] | Headers;
  body?: string | Uint8Array | ArrayBuffer | ArrayBufferView;
  region: string;
  service: string;
  credentials: AwsCredentials | CredentialsProvider;
  /** Signing time; defaults to now. */
  date?: Date | number | string;
}

export interface SignedHeaders {
  authorization: string;
  'x-amz-date': string;
  'x-amz-security-token'?: string;
}

/** SigV4-sign any AWS request; resolves to the headers to add to it. */
export function signRequest(input: SignRequestInput): Promise<SignedHeaders>;

export interface SignDeviceRequestInput {
  /** Sent as `x-device-id`: the device whose secret the receiver verifies with. */
  deviceId: string;
  /** A Standard Webhooks secret: `whsec_` and the base64 of the key. */
  secret: string;
  /** The exact body sent. */
  body: string | Uint8Array | ArrayBuffer | ArrayBufferView;
  /** `webhook-id` (1 to 128 of `[A-Za-z0-9_-]`); default a random `msg_…`. Reuse it when
   * resending the same body, so the receiver drops the duplicate. */
  id?: string;
  /** Signing time: a `Date` or whole epoch seconds (not milliseconds); default now. */
  timestamp?: Date | number;
}

export interface DeviceRequestHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  /** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`. */
  'webhook-signature': string;
  'x-device-id': string;
}

/** Sign a device's request per the Standard Webhooks specification; resolves to the headers
 * to send. Throws `InvalidOption` (never quoting the secret) for bad input. */
export function signDeviceRequest(input: SignDeviceRequestInput): Promise<DeviceRequestHeaders>;

/** A user record read back from the stream (aggregated records are unpacked). */
export interface StreamRecord {
  shardId: string;
  sequenceNumber: string;
  /** Its index inside the aggregated Kinesis record that carried it. */
  subSequenceNumber?: number;
  partitionKey: string;
  explicitHashKey?: string;
  data: Uint8Array;
  /** When Kinesis received it, epoch milliseconds. */
  arrivedAt: number;
}

export interface KinesisReaderOptions {
  region: string;
  streamName?: string;
  streamArn?: string;
  endpoint?: string;
  credentials: AwsCredentials | CredentialsProvider;
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
}

/** A small polling reader for dashboards: ListShards, GetShardIterator, GetRecords. Aggregated
 * records are unpacked; those stored on a shard they do not belong to are skipped (the KCL's rule). */
export class KinesisReader {
  constructor(options: KinesisReaderOptions);
  /** Every `pollMs` (1000), the records that arrived since. A shard is read after its parents
   * (a key stays in order across reshards); throttled or failing polls are retried at the next
   * poll and expired iterators renewed; other errors reject with a `KinesisEdgeError`. */
  records(options?: {
    from?: 'LATEST' | 'TRIM_HORIZON';
    pollMs?: number;
    limit?: number;
    signal?: AbortSignal;
  }): AsyncGenerator<StreamRecord[], void, void>;
}

export interface CognitoIdentityPoolOptions {
  /** `"<region>:<uuid>"`. */
  identityPoolId: string;
  /** Default: the pool id's region. */
  region?: string;
  /** Identity provider tokens for authenticated identities, e.g. `{ 'accounts.google.com': idToken }`. */
  logins?: Record<string, string>;
  /** Default `https://cognito-identity.<region>.amazonaws.com/`. */
  endpoint?: string;
  /** Where the identity id is kept across page loads (one per set of login providers).
   * Default localStorage; `null` keeps none; a storage that throws is done without. */
  storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null;
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
}

/** Temporary credentials from a Cognito identity pool: the way to give a page AWS access. */
export function fromCognitoIdentityPool(options: CognitoIdentityPoolOptions): CredentialsProvider;

/** A Kinesis record as an AWS Lambda event gives it (`event.Records[i]`; `data` base64). */
export interface LambdaKinesisRecord {
  kinesis: {
    data: string;
    partitionKey?: string;
    sequenceNumber: string;
    explicitHashKey?: string;
    /** Epoch seconds. */
    approximateArrivalTimestamp?: number;
    kinesisSchemaVersion?: string;
  };
  eventID?: string;
  eventSource?: string;
  eventSourceARN?: string;
  eventName?: string;
  eventVersion?: string;
  invokeIdentityArn?: string;
  awsRegion?: string;
}

/** A Kinesis record as `GetRecords` gives it: `Data` base64 in its JSON, bytes in the AWS SDK
 * (whose `_Record` fits this type). */
export interface GetRecordsRecord {
  Data?: string | Uint8Array;
  PartitionKey?: string;
  SequenceNumber?: string;
  ExplicitHashKey?: string;
  /** Epoch seconds in the JSON, a `Date` in the AWS SDK. */
  ApproximateArrivalTimestamp?: number | Date;
  EncryptionType?: string;
}

/** A user record `deaggregate` gives. */
export interface UserRecord {
  data: Uint8Array;
  /** Absent only where the Kinesis record had none (streams with `AUTO` record distribution). */
  partitionKey?: string;
  explicitHashKey?: string;
  /** The Kinesis record's (Lambda's `batchItemFailures` name it). */
  sequenceNumber: string;
  /** Its index inside the aggregated record; absent for a plain record. */
  subSequenceNumber?: number;
  /** When Kinesis received the record (`approximateArrivalTimestamp`), epoch milliseconds. */
  arrivedAt?: number;
}

export interface DeaggregateOptions {
  /** The shard's hash key range (decimal strings, as `ListShards` gives it): an aggregate holding
   * a user record that hashes outside it is dropped whole, as the KCL does. */
  hashKeyRange?: { startingHashKey: string; endingHashKey: string };
}

/** The user records of Kinesis records, in order: aggregated (KPL format) records unpacked,
 * plain ones (no magic, or a checksum that does not match) passed through. Throws a
 * `KinesisEdgeError`: `MalformedAggregate` (with `sequenceNumber`) for an aggregate whose checksum
 * matches but whose body does not decode, `InvalidRecord` for something that is not a Kinesis
 * record, `InvalidOption` for a bad `hashKeyRange`. */
export function deaggregate(records: ReadonlyArray<LambdaKinesisRecord | GetRecordsRecord>, options?: DeaggregateOptions): UserRecord[];
