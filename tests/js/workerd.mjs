// Test support: a free loopback port for servers that must be told their port before they start
// (the example ingest worker itself runs in Miniflare: examples/ingest-worker/dev.mjs).
import { createServer } from 'node:net';

/** A free loopback port, below the kernel's ephemeral range when possible. */
export async function freePort() {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const ok = await new Promise((resolve) => {
      const s = createServer().once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port');
}
