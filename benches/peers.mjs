// The three producers under test in Node (see peers-common.mjs), each loaded only when measured,
// so that one peer's modules never weigh on another's figures.
import { readings, ok500, kinesisEdgePeer, sdkPeer, aws4fetchPeer } from './peers-common.mjs';

export { readings };

export const peers = {
  'kinesis-edge': async () => kinesisEdgePeer((await import('kinesis-edge')).KinesisProducer),
  '@aws-sdk/client-kinesis': async () => {
    const { Readable } = await import('node:stream');
    return sdkPeer(await import('@aws-sdk/client-kinesis'), () => Readable.from([Buffer.from(ok500)]));
  },
  aws4fetch: async () => aws4fetchPeer((await import('aws4fetch')).AwsClient, (bytes) => Buffer.from(bytes).toString('base64')),
};
