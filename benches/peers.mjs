// The producers under test in Node (see peers-common.mjs), each loaded only when set up, so that
// a process that measures one peer carries no other peer's modules. kinesis-edge is the package
// in KINESIS_EDGE_PKG, else the installed one (benches/pkg.mjs).
import { readings, ok500, kinesisEdgePeer, sdkPeer, aws4fetchPeer } from './peers-common.mjs';
import { importKinesisEdge, importKinesisEdgeMetrics } from './pkg.mjs';

export { readings };

export const peers = {
  'kinesis-edge': async () => kinesisEdgePeer((await importKinesisEdge()).KinesisProducer),
  // What gathering CloudWatch metrics costs the loop: every metric, per shard (no upload falls
  // within a run: the interval is a minute).
  'kinesis-edge/metrics, detailed': async () =>
    kinesisEdgePeer((await importKinesisEdgeMetrics()).KinesisProducer, { metrics: { level: 'detailed', granularity: 'shard', endpoint: 'http://127.0.0.1:9/' } }),
  '@aws-sdk/client-kinesis': async () => {
    const { Readable } = await import('node:stream');
    return sdkPeer(await import('@aws-sdk/client-kinesis'), () => Readable.from([Buffer.from(ok500)]));
  },
  aws4fetch: async () => aws4fetchPeer((await import('aws4fetch')).AwsClient, (bytes) => Buffer.from(bytes).toString('base64')),
  'hand-written SigV4': async () => (await import('./sigv4-node.mjs')).handSigV4Peer(),
};
