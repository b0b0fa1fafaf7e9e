// The example ingest worker in Miniflare for benches/worker.mjs, through the example's own
// launcher (examples/ingest-worker/dev.mjs: bundled the way `wrangler deploy` would upload it).
// What the benchmark adds: with KINESIS_EDGE_PKG set, `kinesis-edge` is aliased to that package's
// `workerd` export, so either build can be measured; without it the installed package is resolved
// as a deploy would.
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startIngest, WRANGLER_CONFIG } from '../examples/ingest-worker/dev.mjs';
import { exportFor } from './pkg.mjs';

const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), '../examples/ingest-worker');

/** `startIngest(options)` for the package under test. */
export async function startBenchIngest(options) {
  if (!process.env.KINESIS_EDGE_PKG) return startIngest(options);
  // The example's own config, its entry made absolute and kinesis-edge aliased.
  const dir = mkdtempSync(join(tmpdir(), 'kinesis-edge-workerd-bench-'));
  const toml = readFileSync(WRANGLER_CONFIG, 'utf8').replace(/^main\s*=\s*"([^"]+)"/m, (_, main) => `main = ${JSON.stringify(join(EXAMPLE, main))}`);
  const config = join(dir, 'wrangler.toml');
  writeFileSync(config, `${toml}\n[alias]\n"kinesis-edge" = ${JSON.stringify(exportFor('workerd', 'workerd.js'))}\n`);
  try {
    return await startIngest({ ...options, config });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
