// The example ingest worker in real workerd for benches/worker.mjs, through the tests' harness
// (tests/js/workerd.mjs: bundled the way `wrangler deploy` would upload it, then served by as many
// workerd processes as asked). What the benchmark adds: with KINESIS_EDGE_PKG set, `kinesis-edge`
// is aliased to that package's `workerd` export, so either build can be measured; without it the
// installed package is resolved as a deploy would.
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorker as bundle, WRANGLER_CONFIG } from '../tests/js/workerd.mjs';
import { exportFor } from './pkg.mjs';

export { startWorkerd } from '../tests/js/workerd.mjs';

const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), '../examples/ingest-worker');

/** The example worker bundled for the package under test: `{ dir, modules, sources, remove() }`. */
export async function bundleWorker() {
  if (!process.env.KINESIS_EDGE_PKG) return bundle();
  // The example's own config, its entry made absolute and kinesis-edge aliased.
  const dir = mkdtempSync(join(tmpdir(), 'kinesis-edge-workerd-bench-'));
  const toml = readFileSync(WRANGLER_CONFIG, 'utf8').replace(/^main\s*=\s*"([^"]+)"/m, (_, main) => `main = ${JSON.stringify(join(EXAMPLE, main))}`);
  const config = join(dir, 'wrangler.toml');
  writeFileSync(config, `${toml}\n[alias]\n"kinesis-edge" = ${JSON.stringify(exportFor('workerd', 'workerd.js'))}\n`);
  try {
    return await bundle(config);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
