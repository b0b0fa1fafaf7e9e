// Bundled for the browser by benches/browser.mjs: the three producers' browser builds on one page
// (see peers-common.mjs), with the browser's stream and base64.
import { KinesisProducer } from 'kinesis-edge/inline';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { AwsClient } from 'aws4fetch';
import { readings, ok500, kinesisEdgePeer, sdkPeer, aws4fetchPeer } from './peers-common.mjs';

const peers = {
  'kinesis-edge': () => kinesisEdgePeer(KinesisProducer, { lifecycle: false }),
  '@aws-sdk/client-kinesis': () => sdkPeer({ KinesisClient, PutRecordsCommand }, () => new Response(ok500).body),
  aws4fetch: () => aws4fetchPeer(AwsClient, (bytes) => btoa(String.fromCharCode(...bytes))),
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
