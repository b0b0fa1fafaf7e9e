// A loopback stand-in in front of kinesalite for the stream settings kinesalite does not have:
// it rewrites `DescribeStreamSummary` answers (record distribution, record size limit) or
// refuses them, and takes `PutRecords` calls holding records over kinesalite's 1 MiB or without
// a partition key (an AUTO stream's) itself, answering every entry stored and recording what it
// took. Everything else is forwarded.
import http from 'node:http';

const json = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
  res.end(JSON.stringify(body));
};

/**
 * settings: { summary: object merged into StreamDescriptionSummary, refuse: [status, __type] }
 * Returns { endpoint, calls (operation names in order), taken (PutRecords bodies answered here), close() }.
 */
export async function startStreamStandIn(target, settings = {}) {
  const upstream = new URL(target);
  const calls = [];
  const taken = [];
  let sequence = 0;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1];
      calls.push(operation);
      if (operation === 'DescribeStreamSummary' && settings.refuse) {
        const [status, type] = settings.refuse;
        return json(res, status, { __type: type, message: `refused by the stand-in: ${type}` });
      }
      if (operation === 'PutRecords') {
        const records = JSON.parse(body).Records;
        if (records.some((r) => Buffer.byteLength(r.Data, 'base64') > 1 << 20 || r.PartitionKey === undefined)) {
          taken.push(records.map((r) => ({ bytes: Buffer.from(r.Data, 'base64').length, partitionKey: r.PartitionKey })));
          return json(res, 200, {
            FailedRecordCount: 0,
            Records: records.map(() => ({ SequenceNumber: String(++sequence), ShardId: 'shardId-000000000000' })),
          });
        }
      }
      const forward = http.request(
        { host: upstream.hostname, port: upstream.port, method: 'POST', path: '/', headers: req.headers },
        (answer) => {
          const parts = [];
          answer.on('data', (c) => parts.push(c));
          answer.on('end', () => {
            let out = Buffer.concat(parts);
            if (operation === 'DescribeStreamSummary' && answer.statusCode === 200 && settings.summary) {
              const parsed = JSON.parse(out);
              Object.assign(parsed.StreamDescriptionSummary, settings.summary);
              out = Buffer.from(JSON.stringify(parsed));
            }
            const headers = { ...answer.headers, 'content-length': out.length };
            res.writeHead(answer.statusCode, headers);
            res.end(out);
          });
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    calls,
    taken,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
