// Test support for page tests: kinesalite, the project's files on 127.0.0.1 and headless Chromium,
// started before a file's tests and stopped after them. The returned object fills in then.
import { before, after } from 'node:test';
import { startKinesalite } from './support.mjs';
import { launchChromium } from './chromium.mjs';
import { serveProject } from './static-server.mjs';

/** `setup(h)` runs once all three are up (to create streams, say). */
export function pageHarness(setup = async () => {}) {
  const h = {};
  before(async () => {
    h.k = await startKinesalite();
    h.server = await serveProject();
    h.browser = await launchChromium();
    await setup(h);
  });
  after(async () => {
    await h.browser?.close();
    await h.server?.close();
    await h.k?.close();
  });
  return h;
}

/** Polls `read()` (a list) every 100 ms until it holds `count` items or `ms` passed; returns the last. */
export async function atLeast(read, count, ms) {
  const started = Date.now();
  for (;;) {
    const found = await read();
    if (found.length >= count || Date.now() - started >= ms) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * What a closed page's keepalive requests delivered, once all of them have landed: polls
 * `read()` (a list) until it holds something and its length has stayed the same for 500 ms, or
 * `ms` passed. A fixed wait would undercount on a loaded machine.
 */
export async function onceSteady(read, ms = 8_000) {
  const started = Date.now();
  let found = await read();
  for (let before = -1; (found.length === 0 || found.length !== before) && Date.now() - started < ms; ) {
    await new Promise((r) => setTimeout(r, 500));
    before = found.length;
    found = await read();
  }
  return found;
}
