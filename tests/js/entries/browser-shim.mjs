// Preloaded for the `browser` entry under Node: Node's fetch cannot read file: URLs, which is
// how the entry finds its .wasm next to itself; a browser fetches it over HTTP instead.
import { readFile } from 'node:fs/promises';

const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const url = input instanceof URL ? input : new URL(String(input), 'http://invalid/');
  if (url.protocol === 'file:') {
    return new Response(await readFile(url), { headers: { 'content-type': 'application/wasm' } });
  }
  return realFetch(input, init);
};
