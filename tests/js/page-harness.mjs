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
