// The Node entry's transport: node:http(s) with keep-alive sockets. Node's global `fetch`
// (undici) spends about 0.8 ms of CPU per request on building a Request, cloning the body, an
// AbortSignal and response streams (see BENCHMARKS.md); a PutRecords call needs none of it. The
// `fetch` option still replaces this transport, in Node as everywhere. node:http(s) load on the
// first request, not at import: a producer given its own `fetch` never pays for them.
let modules = null;
const load = () =>
  (modules ??= Promise.all([import('node:http'), import('node:https')]).then(([http, https]) => ({
    'http:': { module: http, agent: new http.Agent({ keepAlive: true }) },
    'https:': { module: https, agent: new https.Agent({ keepAlive: true }) },
  })));

export function nodeTransport() {
  // Idle keep-alive sockets are unref'd by Node's agent: they never keep a process alive.
  let parsed = null;
  return async (url, headers, body, signal) => {
    const schemes = await load();
    if (parsed?.href !== url) parsed = new URL(url);
    const { module, agent } = schemes[parsed.protocol];
    headers['content-length'] = body.length;
    return new Promise((resolve, reject) => {
      const request = module.request(parsed, { method: 'POST', headers, agent, signal }, (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () =>
          resolve({
            status: response.statusCode,
            date: Date.parse(response.headers.date),
            errorType: response.headers['x-amzn-errortype'],
            body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks),
          }),
        );
      });
      request.on('error', reject);
      request.end(body);
    });
  };
}
