// Entry point for Node.js (also chosen by Deno and Bun through the `node` condition): reads the
// wasm file from disk, uses node:crypto's SHA-256 (synchronous, several times faster than
// WebCrypto's or wasm's) and sends over node:http(s) (see node-transport.js).
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { initSync } from './kinesis_edge.js';
import { host } from './host.js';
import { nodeTransport } from './node-transport.js';

initSync({ module: readFileSync(new URL('./kinesis_edge_bg.wasm', import.meta.url)) });
host.sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
host.transport = nodeTransport;

export * from './exports.js';
