// A producer per request, as workers make them; its metrics go to the isolate's accumulator and
// are uploaded under the waitUntil of whichever request finds the interval over.
import { env as globalEnv } from 'cloudflare:workers';
import { KinesisProducer } from 'kinesis-edge/metrics';

const options = (env) => ({
  region: 'us-east-1',
  streamName: env.STREAM_NAME,
  endpoint: env.KINESIS_ENDPOINT,
  credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
  streamSettings: {},
  metrics: { level: 'summary', granularity: 'stream', namespace: env.NAMESPACE, intervalMs: Number(env.INTERVAL_MS), endpoint: env.METRICS_ENDPOINT },
});

// One made at module scope too, where workerd allows no timers or I/O: used by `/module-scope`.
const moduleScoped = new KinesisProducer(options(globalEnv));

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === '/health') return new Response('ok');
    if (url.pathname === '/module-scope') {
      moduleScoped.useContext(ctx);
      await moduleScoped.put({ data: 'from module scope', partitionKey: 'm' });
      await moduleScoped.close();
      return Response.json(moduleScoped.stats());
    }
    const n = Number(url.searchParams.get('n'));
    const producer = new KinesisProducer(options(env)).useContext(ctx);
    await producer.putMany(Array.from({ length: n }, (_, i) => ({ data: `reading ${i}`, partitionKey: `device-${i}` })));
    await producer.close();
    return Response.json(producer.stats());
  },
};
