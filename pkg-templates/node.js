// Entry point for Node.js (also chosen by Deno and Bun through the `node` condition).
import { startNode } from './node-host.js';

startNode(new URL('./kinesis_edge_bg.wasm', import.meta.url));

export * from './exports.js';
