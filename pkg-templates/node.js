// Entry point for Node.js (also chosen by Deno and Bun through the `node` condition): reads the
// wasm file from disk and uses node:crypto's SHA-256, several times faster than wasm's.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { initSync, setSha256 } from './kinesis_edge.js';

initSync({ module: readFileSync(new URL('./kinesis_edge_bg.wasm', import.meta.url)) });
setSha256((bytes) => createHash('sha256').update(bytes).digest('hex'));

export * from './exports.js';
