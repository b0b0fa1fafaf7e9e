// Test support: the example ingest worker served by real workerd (from npm) on 127.0.0.1, with
// a config of its own. The worker is what `wrangler deploy` would upload: Wrangler bundles it
// from examples/ingest-worker/wrangler.toml (a dry run, which makes no network call with these
// settings) through the package's `workerd` export condition, keeping the .wasm a module.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const WRANGLER_CONFIG = join(root, 'examples/ingest-worker/wrangler.toml');
const OFFLINE = { WRANGLER_HIDE_BANNER: 'true', WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };

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

const capnpString = (s) => JSON.stringify(String(s));

/**
 * Bundle the worker as `wrangler deploy` would upload it (the script, and each .wasm as a
 * compiled module) from `config` into a temporary directory: `{ dir, modules, sources, remove() }`.
 */
export async function bundleWorker(config = WRANGLER_CONFIG) {
  const dir = mkdtempSync(join(tmpdir(), 'kinesis-edge-workerd-'));
  await promisify(execFile)(join(root, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', dir, '--config', config], {
    cwd: root,
    env: { ...process.env, ...OFFLINE },
    timeout: 120_000,
  });
  const modules = [
    `(name = "worker.js", esModule = embed "worker.js"),`,
    ...readdirSync(dir)
      .filter((f) => f.endsWith('.wasm'))
      .map((f) => `(name = ${capnpString(f)}, wasm = embed ${capnpString(f)}),`),
  ];
  const sources = JSON.parse(readFileSync(join(dir, 'worker.js.map'), 'utf8')).sources ?? [];
  return { dir, modules, sources, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Start one workerd serving `bundle` with `vars` as text bindings. Outbound fetches go through a
 * network service that allows loopback (workerd blocks it by default), so the worker can reach
 * kinesalite on 127.0.0.1. Returns `{ url, pid, startedAt, log(), stop() }` once it answers.
 */
export async function startWorkerd(bundle, vars) {
  const port = await freePort();
  const bindings = Object.entries(vars)
    .map(([name, value]) => `(name = ${capnpString(name)}, text = ${capnpString(value)})`)
    .join(',\n      ');
  const config = join(bundle.dir, `config-${port}.capnp`);
  writeFileSync(
    config,
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "ingest", worker = .worker),
    (name = "loopback", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "ingest")],
);
const worker :Workerd.Worker = (
  modules = [
    ${bundle.modules.join('\n    ')}
  ],
  compatibilityDate = "2026-11-01",
  bindings = [
      ${bindings}
  ],
  globalOutbound = "loopback",
);
`,
  );
  const startedAt = performance.now();
  const child = spawn(join(root, 'node_modules/.bin/workerd'), ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`workerd exited: ${log}`);
    try {
      await fetch(`${url}/health`);
      break;
    } catch {
      if (i > 300) {
        await stop();
        throw new Error(`workerd did not start: ${log}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return { url, pid: child.pid, startedAt, log: () => log, stop };
}

/** The example worker bundled and served by its own workerd; `stop()` also removes the bundle. */
export async function startWorker(vars) {
  const bundle = await bundleWorker();
  const worker = await startWorkerd(bundle, vars).catch((e) => {
    bundle.remove();
    throw e;
  });
  return {
    ...worker,
    stop: async () => {
      await worker.stop();
      bundle.remove();
    },
  };
}
