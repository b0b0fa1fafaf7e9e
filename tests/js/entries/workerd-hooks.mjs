// Module hooks for the `workerd` entry under Node: workerd (and wrangler) import a .wasm file as
// a compiled WebAssembly.Module; these hooks do the same, so the entry's own code runs unchanged.
import { readFileSync } from 'node:fs';

export async function load(url, context, nextLoad) {
  if (url.endsWith('.wasm')) {
    const bytes = [...readFileSync(new URL(url))];
    return {
      format: 'module',
      shortCircuit: true,
      source: `export default new WebAssembly.Module(new Uint8Array(${JSON.stringify(bytes)}));`,
    };
  }
  return nextLoad(url, context);
}
