// Bundled for the browser by benches/browser.mjs: the three producers on one page, each reduced
// to "500 JS values in, one signed PutRecords request out" against a fetch that captures the
// request and answers at once (as in peers.mjs, with browser builds: WebCrypto, fetch Response).
import { KinesisProducer } from 'kinesis-edge/inline';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { AwsClient } from 'aws4fetch';
import { REGION, STREAM, ENDPOINT, CREDENTIALS, readings, ok500 } from './peers-common.mjs';
const encoder = new TextEncoder();

const peers = {
  'kinesis-edge': () => {
    let signed;
    const producer = new KinesisProducer({
      region: REGION,
      streamName: STREAM,
      endpoint: ENDPOINT,
      credentials: CREDENTIALS,
      lingerMs: 60_000,
      lifecycle: false,
      fetch: async () => {
        signed();
        await null;
        return new Response(ok500, { status: 200 });
      },
    });
    return (records) => {
      const ready = new Promise((r) => (signed = r));
      return { signed: ready, done: producer.putMany(records) };
    };
  },
  '@aws-sdk/client-kinesis': () => {
    let signed;
    const client = new KinesisClient({
      region: REGION,
      endpoint: ENDPOINT,
      credentials: CREDENTIALS,
      requestHandler: {
        handle: async () => {
          signed();
          await null;
          return { response: { statusCode: 200, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: new Response(ok500).body } };
        },
      },
    });
    return (records) => {
      const ready = new Promise((r) => (signed = r));
      const done = client.send(
        new PutRecordsCommand({ StreamName: STREAM, Records: records.map((r) => ({ Data: encoder.encode(JSON.stringify(r.data)), PartitionKey: r.partitionKey })) }),
      );
      return { signed: ready, done };
    };
  },
  aws4fetch: () => {
    const client = new AwsClient({ ...CREDENTIALS, region: REGION, service: 'kinesis' });
    const base64 = (bytes) => btoa(String.fromCharCode(...bytes));
    return (records) => {
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

/** Per producer: mean and median ms from JS values to the signed request, over `batches`. */
window.runBench = async (batches = 300, warmup = 50) => {
  const sets = Array.from({ length: 8 }, (_, i) => readings(500, i + 1));
  const out = {};
  for (const [name, setup] of Object.entries(peers)) {
    const batch = setup();
    for (let i = 0; i < warmup; i++) await batch(sets[i % sets.length]).done;
    const times = [];
    for (let i = 0; i < batches; i++) {
      const t0 = performance.now();
      const { signed, done } = batch(sets[i % sets.length]);
      await signed;
      times.push(performance.now() - t0);
      await done;
    }
    times.sort((a, b) => a - b);
    out[name] = { mean: times.reduce((a, b) => a + b, 0) / times.length, median: times[Math.floor(times.length / 2)] };
  }
  return out;
};
