// The three producers under test, each reduced to "500 JS values in, one signed PutRecords
// request out". Each setup returns `batch(records)` -> `{ signed, done }`: `signed` resolves
// when the signed request reaches the transport (captured, never sent), `done` when the
// producer has also read the canned answer.
import { REGION, STREAM, ENDPOINT, CREDENTIALS, readings, ok500 } from './peers-common.mjs';

export { readings };

export const peers = {
  'kinesis-edge': async () => {
    const { KinesisProducer } = await import('kinesis-edge');
    let signed;
    const producer = new KinesisProducer({
      region: REGION,
      streamName: STREAM,
      endpoint: ENDPOINT,
      credentials: CREDENTIALS,
      lingerMs: 60_000,
      fetch: async (url, init) => {
        signed(init);
        // Let the benchmark take its timestamp before the answer is made.
        await null;
        return new Response(ok500, { status: 200 });
      },
    });
    return (records) => {
      const ready = new Promise((r) => (signed = r));
      const done = producer.putMany(records);
      return { signed: ready, done };
    };
  },

  '@aws-sdk/client-kinesis': async () => {
    const { KinesisClient, PutRecordsCommand } = await import('@aws-sdk/client-kinesis');
    const { Readable } = await import('node:stream');
    const encoder = new TextEncoder();
    let signed;
    const client = new KinesisClient({
      region: REGION,
      endpoint: ENDPOINT,
      credentials: CREDENTIALS,
      requestHandler: {
        handle: async (request) => {
          signed(request);
          await null;
          return {
            response: {
              statusCode: 200,
              headers: { 'content-type': 'application/x-amz-json-1.1' },
              body: Readable.from([Buffer.from(ok500)]),
            },
          };
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
  },

  aws4fetch: async () => {
    const { AwsClient } = await import('aws4fetch');
    const client = new AwsClient({ ...CREDENTIALS, region: REGION, service: 'kinesis' });
    const encoder = new TextEncoder();
    const base64 = (bytes) => Buffer.from(bytes).toString('base64');
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
  },
};
