// Bundled for the browser by benches/browser.mjs: the producers' browser builds on one page (see
// peers-common.mjs), with the browser's stream and base64. `kinesis-edge-under-test` is the
// package's inline.js (or browser.js) from KINESIS_EDGE_PKG or the installed package, mapped by
// browser.mjs at bundling time.
import { KinesisProducer } from 'kinesis-edge-under-test';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { AwsClient } from 'aws4fetch';
import { readings, ok500, kinesisEdgePeer, sdkPeer, aws4fetchPeer } from './peers-common.mjs';

const peers = {
  'kinesis-edge': () => kinesisEdgePeer(KinesisProducer, { lifecycle: false }),
  '@aws-sdk/client-kinesis': () => sdkPeer({ KinesisClient, PutRecordsCommand }, () => new Response(ok500).body),
  aws4fetch: () => aws4fetchPeer(AwsClient, (bytes) => btoa(String.fromCharCode(...bytes))),
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The smallest step performance.now() takes here (0.1 ms when the page is not cross-origin isolated). */
function timerResolution() {
  let smallest = Infinity;
  for (let i = 0; i < 50; i++) {
    const a = performance.now();
    let b = a;
    while (b === a) b = performance.now();
    smallest = Math.min(smallest, b - a);
  }
  return smallest;
}

/**
 * The whole loop per producer: 500 readings until every promise settled (kinesis-edge: putMany
 * against a fetch answering at once; the SDK: send until its answer is parsed; aws4fetch: body
 * and sign). Per round, each producer in turn runs `batches` batches (the first one rotating):
 * the mean per batch (the round's total time over `batches`, immune to the timer's step), and
 * the median time to the signed request. Medians of the rounds.
 */
window.runBench = async ({ rounds = 7, batches = 100, warmup = 50 } = {}) => {
  const sets = Array.from({ length: 8 }, (_, i) => readings(500, i + 1));
  const names = Object.keys(peers);
  const batchOf = Object.fromEntries(names.map((n) => [n, peers[n]()]));
  for (const name of names) for (let i = 0; i < warmup; i++) await batchOf[name](sets[i % sets.length]).done;
  const runs = Object.fromEntries(names.map((n) => [n, { loop: [], signed: [] }]));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length];
      const batch = batchOf[name];
      const signedTimes = [];
      const start = performance.now();
      for (let i = 0; i < batches; i++) {
        const t0 = performance.now();
        const { signed, done } = batch(sets[i % sets.length]);
        await signed;
        signedTimes.push(performance.now() - t0);
        await done;
      }
      runs[name].loop.push((performance.now() - start) / batches);
      runs[name].signed.push(median(signedTimes));
    }
  }
  const results = {};
  for (const name of names) {
    const { loop, signed } = runs[name];
    results[name] = { loop: median(loop), loopMin: Math.min(...loop), loopMax: Math.max(...loop), signed: median(signed) };
  }
  return { crossOriginIsolated: globalThis.crossOriginIsolated === true, timerResolutionMs: timerResolution(), rounds, batches, results };
};
