// Shared by the benchmark sections: medians, tables, and how a figure compares with its target.
// Figures, not assertions: a missed target is printed, never thrown.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const range = (xs) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;

export function printTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells) => '| ' + cells.map((c, i) => String(c ?? '').padEnd(widths[i])).join(' | ') + ' |';
  console.log(line(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));
}

/** "1.23 ms (target ≤ 1.6 ms: met)". */
export function against(value, { atMost, atLeast, unit = '', digits = 2 }) {
  const v = `${value.toFixed(digits)}${unit}`;
  if (!Number.isFinite(value)) return `${v} (no figure)`;
  if (atMost !== undefined) return `${v} (target ≤ ${atMost}${unit}: ${value <= atMost ? 'met' : 'missed'})`;
  return `${v} (target ≥ ${atLeast}${unit}: ${value >= atLeast ? 'met' : 'missed'})`;
}

export const kb = (n) => (n / 1000).toFixed(1) + ' KB';

/** The last line of a child's stdout, as JSON (children print their figures last). */
export const lastJson = (stdout) => JSON.parse(stdout.trim().split('\n').at(-1));

/** Whether the module at `metaUrl` is the script node was started with. */
export function isMain(metaUrl) {
  if (!process.argv[1]) return false;
  try {
    return pathToFileURL(realpathSync(process.argv[1])).href === metaUrl;
  } catch {
    return false;
  }
}
