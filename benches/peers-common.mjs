// What every peer measurement shares, in Node and in the browser: the target, the credentials
// and the readings.
export const REGION = 'us-east-1';
export const STREAM = 'bench';
export const ENDPOINT = 'https://kinesis.us-east-1.amazonaws.com';
export const CREDENTIALS = { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret-key', sessionToken: 'bench-token' };

/** 500 readings of ~200 bytes of JSON each, as a device dashboard would produce them. */
export function readings(n = 500, seed = 1) {
  return Array.from({ length: n }, (_, i) => ({
    data: {
      deviceId: `device-${(seed * 31 + i) % 64}`,
      ts: 1_764_000_000_000 + i * 250,
      temperature: 20 + ((i * 7) % 100) / 10,
      humidity: 40 + ((i * 13) % 300) / 10,
      battery: 100 - (i % 50),
      lat: 48.8566 + i / 1e5,
      lon: 2.3522 - i / 1e5,
      status: i % 17 === 0 ? 'burst' : 'ok',
      fw: '1.4.2',
    },
    partitionKey: `device-${(seed * 31 + i) % 64}`,
  }));
}

/** The canned answer to a batch: 500 records stored. */
export const ok500 = JSON.stringify({
  FailedRecordCount: 0,
  Records: Array.from({ length: 500 }, (_, i) => ({ SequenceNumber: `${i}`, ShardId: 'shardId-000000000000' })),
});

/** The canned answer to kinesis-edge's DescribeStreamSummary (asked beside its first batch). */
export const activeStream = JSON.stringify({ StreamDescriptionSummary: { StreamName: STREAM, StreamStatus: 'ACTIVE', OpenShardCount: 1 } });
export const isDescribe = (init) => String(init.headers['x-amz-target']).endsWith('.DescribeStreamSummary');

// The three producers under test, each reduced to "500 JS values in, one signed PutRecords
// request out": `batch(records)` -> `{ signed, done }`, where `signed` resolves when the signed
// request reaches the transport (captured, never sent) and `done` when the producer has also
// read the canned answer. Node and the browser pass their own builds and stream/base64 helpers.
const encoder = new TextEncoder();

export function kinesisEdgePeer(KinesisProducer, options = {}) {
  let signed;
  const producer = new KinesisProducer({
    region: REGION,
    streamName: STREAM,
    endpoint: ENDPOINT,
    credentials: CREDENTIALS,
    lingerMs: 60_000,
    ...options,
    fetch: async (url, init) => {
      if (isDescribe(init)) return new Response(activeStream, { status: 200 });
      signed();
      // Let the benchmark take its timestamp before the answer is made.
      await null;
      return new Response(ok500, { status: 200 });
    },
  });
  return (records) => {
    const ready = new Promise((r) => (signed = r));
    return { signed: ready, done: producer.putMany(records) };
  };
}

/** `answerBody()`: the canned answer as the runtime's HTTP handler gives bodies. */
export function sdkPeer({ KinesisClient, PutRecordsCommand }, answerBody) {
  let signed;
  const client = new KinesisClient({
    region: REGION,
    endpoint: ENDPOINT,
    credentials: CREDENTIALS,
    requestHandler: {
      handle: async () => {
        signed();
        await null;
        return { response: { statusCode: 200, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: answerBody() } };
      },
    },
  });
  return (records) => {
    const ready = new Promise((r) => (signed = r));
    const done = client.send(
      new PutRecordsCommand({
        StreamName: STREAM,
        Records: records.map((r) => ({ Data: encoder.encode(JSON.stringify(r.data)), PartitionKey: r.partitionKey })),
      }),
    );
    return { signed: ready, done };
  };
}

export function aws4fetchPeer(AwsClient, base64) {
  const client = new AwsClient({ ...CREDENTIALS, region: REGION, service: 'kinesis' });
  return (records) => {
    // aws4fetch only signs: the caller builds the PutRecords body.
    const body = JSON.stringify({
      Records: records.map((r) => ({ Data: base64(encoder.encode(JSON.stringify(r.data))), PartitionKey: r.partitionKey })),
      StreamName: STREAM,
    });
    const signed = client.sign(ENDPOINT + '/', {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.PutRecords' },
      body,
    });
    return { signed, done: signed };
  };
}
