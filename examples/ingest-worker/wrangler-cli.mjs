// The installed wrangler CLI (this example's devDependency, or the repository's), run by this
// Node, offline: no metrics, no request for Cloudflare's location data.
import { createRequire } from 'node:module';

export const WRANGLER = [process.execPath, createRequire(import.meta.url).resolve('wrangler/bin/wrangler.js')];
export const OFFLINE_ENV = { WRANGLER_HIDE_BANNER: 'true', WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };
