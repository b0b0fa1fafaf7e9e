// What the Node.js entries (node.js, metrics-node.js; also chosen by Deno and Bun through the
// `node` condition) set up: the wasm read from disk, node:crypto's SHA-256 (synchronous, several
// times faster than WebCrypto's or wasm's) and sending over node:http(s) (see node-transport.js).
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { initSync } from './kinesis_edge.js';
import { host } from './host.js';
import { nodeTransport } from './node-transport.js';

export function startNode(wasmUrl) {
  initSync({ module: readFileSync(wasmUrl) });
  host.sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
  host.transport = nodeTransport;
}
