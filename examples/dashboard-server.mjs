// Serves the dashboard (www/) on 127.0.0.1, with the built package under /pkg/, the device
// simulator, its charting library (uPlot, a dev dependency) under /vendor/uplot/, and
// /config.json telling the page which endpoint and stream to use.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, dirname, normalize, extname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json', '.png': 'image/png' };

/** Map a URL path to a file of the project, or null for anything outside what the page needs. */
function fileFor(path) {
  const clean = normalize(decodeURIComponent(path)).replace(/^(\.\.[/\\])+/, '');
  if (clean === '/' || clean === '/index.html') return join(root, 'www/index.html');
  if (clean === '/devices.mjs') return join(root, 'examples/devices.mjs');
  if (clean.startsWith('/pkg/')) return join(root, clean);
  if (/^\/vendor\/uplot\/[\w.-]+$/.test(clean)) return join(root, 'node_modules/uplot/dist', clean.slice('/vendor/uplot/'.length));
  if (/^\/[\w.-]+$/.test(clean)) return join(root, 'www', clean);
  return null;
}

/** Start the server on `port` (0: any free port); `config` is served as /config.json. */
export async function startDashboard({ port = 8080, config }) {
  const server = createServer(async (req, res) => {
    const { pathname } = new URL(req.url, 'http://localhost');
    if (pathname === '/config.json') {
      res.writeHead(200, { 'content-type': TYPES['.json'], 'cache-control': 'no-store' }).end(JSON.stringify(config));
      return;
    }
    const file = fileFor(pathname);
    try {
      if (!file) throw new Error('not found');
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) };
}
