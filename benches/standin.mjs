// The loopback Kinesis stand-in of the sustained benchmark (benches/sustained.mjs), run as a
// process of its own: a node:http server on 127.0.0.1 (keep-alive) that answers every
// PutRecords entry with success at once (realistic 56-digit sequence numbers, one shard), and
// ListShards with a one-shard map, DescribeStreamSummary with an active stream. It counts entries by scanning the body for `"PartitionKey"`
// rather than parsing it, to stay cheap beside the producer on a small machine; it checks no
// signature (it only refuses a request without an Authorization header). `GET /__stats` (on a
// connection of its own) gives its process CPU and its counts. Prints its port on stdout.
import { createServer } from 'node:http';
import { activeStream } from './peers-common.mjs';

const KEY = Buffer.from('"PartitionKey"');
const SHARD = 'shardId-000000000000';
const answers = new Map();
let sequence = 49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898n;

/** The answer to a PutRecords call of `n` entries (cached per n; the producers do not compare sequence numbers). */
function answer(n) {
  let body = answers.get(n);
  if (!body) {
    const records = [];
    for (let i = 0; i < n; i++) records.push(`{"SequenceNumber":"${(sequence += 1n).toString()}","ShardId":"${SHARD}"}`);
    body = Buffer.from(`{"FailedRecordCount":0,"Records":[${records.join(',')}]}`);
    answers.set(n, body);
  }
  return body;
}

const listShards = Buffer.from(
  JSON.stringify({
    Shards: [
      {
        ShardId: SHARD,
        HashKeyRange: { StartingHashKey: '0', EndingHashKey: (2n ** 128n - 1n).toString() },
        SequenceNumberRange: { StartingSequenceNumber: '1' },
      },
    ],
  }),
);

const counts = { requests: 0, records: 0, refused: 0 };

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': body.length });
  res.end(body);
}

const server = createServer({ keepAliveTimeout: 60_000, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => {
  if (req.method === 'GET' && req.url === '/__stats') {
    const cpu = process.cpuUsage();
    return send(res, 200, Buffer.from(JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, ...counts })));
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const target = req.headers['x-amz-target'] ?? '';
    if (!req.headers.authorization) {
      counts.refused++;
      return send(res, 403, Buffer.from('{"__type":"MissingAuthenticationTokenException","message":"no signature"}'));
    }
    if (target.endsWith('.ListShards')) return send(res, 200, listShards);
    if (target.endsWith('.DescribeStreamSummary')) return send(res, 200, Buffer.from(activeStream));
    if (!target.endsWith('.PutRecords')) {
      counts.refused++;
      return send(res, 400, Buffer.from('{"__type":"UnknownOperationException"}'));
    }
    let n = 0;
    for (const chunk of chunks.length === 1 ? chunks : [Buffer.concat(chunks)]) {
      for (let at = chunk.indexOf(KEY); at !== -1; at = chunk.indexOf(KEY, at + KEY.length)) n++;
    }
    counts.requests++;
    counts.records += n;
    send(res, 200, answer(n));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.on('SIGTERM', () => process.exit(0));
