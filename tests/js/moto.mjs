// Test support: moto's server (PyPI, installed by scripts/setup.sh) on an ephemeral loopback
// port, stopped by its own process id.
import { spawn } from 'node:child_process';
import { freePort } from './workerd.mjs';

/** Resolves to `{ url, stop }` once the server answers. */
export async function startMoto() {
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; ; i++) {
    try {
      await fetch(url);
      break;
    } catch {
      if (i > 200) {
        child.kill();
        throw new Error('moto_server did not start');
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { url, stop: () => child.kill() };
}
