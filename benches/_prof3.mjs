import { KinesisProducer } from 'kinesis-edge';
import { readings } from './peers.mjs';
const ok500 = JSON.stringify({ FailedRecordCount: 0, Records: Array.from({ length: 500 }, (_, i) => ({ SequenceNumber: `${i}`, ShardId: 'shardId-000000000000' })) });
let signed;
const p = new KinesisProducer({ region: 'us-east-1', streamName: 's', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, lingerMs: 60000,
  fetch: async (url, init) => { signed(); return new Response(ok500, { status: 200 }); } });
const sets = Array.from({ length: 8 }, (_, i) => readings(500, i + 1));
const A = [], B = [], C = [], N = 600;
const mode = process.argv[2] ?? 'many';
for (let i = 0; i < N + 100; i++) {
  const ready = new Promise((r) => (signed = r));
  const t0 = performance.now();
  const all = mode === 'many' ? p.putMany(sets[i % 8]) : Promise.all(sets[i % 8].map((r) => p.put(r)));
  const t1 = performance.now();
  await ready;
  const t2 = performance.now();
  await all;
  if (i >= 100) { A.push(t1 - t0); B.push(t2 - t1); C.push(t2 - t0); }
}
const med = (x) => x.sort((a, b) => a - b)[x.length >> 1];
console.log(mode, 'sync', med(A).toFixed(3), 'async', med(B).toFixed(3), 'to signed', med(C).toFixed(3));
