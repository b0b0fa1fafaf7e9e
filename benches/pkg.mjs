// Which kinesis-edge the benchmarks measure: the directory in KINESIS_EDGE_PKG (a built package,
// e.g. a frozen copy of an earlier build), else the installed `kinesis-edge`
// (node_modules/kinesis-edge -> ../pkg). Every harness resolves the package through here, so one
// command measures either build: `KINESIS_EDGE_PKG=/path/to/pkg npm run bench`.
import { readFileSync, realpathSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The package directory under test (absolute, symlinks resolved). */
export const pkgDir = process.env.KINESIS_EDGE_PKG
  ? realpathSync(resolve(process.env.KINESIS_EDGE_PKG))
  : realpathSync(join(root, 'node_modules/kinesis-edge'));

/** How the output names the package under test. */
export const pkgLabel = process.env.KINESIS_EDGE_PKG ? `KINESIS_EDGE_PKG=${pkgDir}` : `kinesis-edge installed (${pkgDir})`;

/** A file of the package (e.g. 'node.js', 'browser.js', 'inline.js'). */
export const pkgFile = (name) => join(pkgDir, name);

/** The package's Node entry (`${dir}/node.js`), or the installed name when no directory is set. */
export function importKinesisEdge() {
  return process.env.KINESIS_EDGE_PKG ? import(pathToFileURL(pkgFile('node.js')).href) : import('kinesis-edge');
}

/** The package's `kinesis-edge/metrics` Node entry, likewise. */
export function importKinesisEdgeMetrics() {
  return process.env.KINESIS_EDGE_PKG ? import(pathToFileURL(pkgFile('metrics-node.js')).href) : import('kinesis-edge/metrics');
}

/** The file a condition of the package's exports map points at (e.g. 'workerd'), else `fallback`. */
export function exportFor(condition, fallback) {
  try {
    const exports = JSON.parse(readFileSync(pkgFile('package.json'), 'utf8')).exports?.['.'];
    const target = typeof exports === 'object' ? exports[condition] : undefined;
    if (typeof target === 'string') return pkgFile(target);
  } catch {
    // No package.json (a bare build directory): the conventional name.
  }
  return pkgFile(fallback);
}

/** The producer's version string, for the headers of the tables. */
export function pkgVersion() {
  try {
    return JSON.parse(readFileSync(pkgFile('package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}
