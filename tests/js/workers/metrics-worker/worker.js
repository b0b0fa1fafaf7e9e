// A producer per request, as workers make them; its metrics go to the isolate's accumulator and
// are uploaded under the waitUntil of whichever request finds the interval over.
import { KinesisProducer } from 'kinesis-edge/metrics';

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === '/health') return new Response('ok');
    const n = Number(url.searchParams.get('n'));
    const producer = new KinesisProducer({
      region: 'us-east-1',
      streamName: env.STREAM_NAME,
      endpoint: env.KINESIS_ENDPOINT,
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
      streamSettings: {},
      metrics: { level: 'summary', granularity: 'stream', namespace: env.NAMESPACE, intervalMs: Number(env.INTERVAL_MS), endpoint: env.METRICS_ENDPOINT },
    }).useContext(ctx);
    await producer.putMany(Array.from({ length: n }, (_, i) => ({ data: `reading ${i}`, partitionKey: `device-${i}` })));
    await producer.close();
    return Response.json(producer.stats());
  },
};
