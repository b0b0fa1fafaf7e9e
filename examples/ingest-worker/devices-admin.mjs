#!/usr/bin/env node
// Add, rotate, disable and enable devices in the registry (KV namespace DEVICES), through
// `wrangler kv key get/put` with this directory's wrangler.toml:
//   node devices-admin.mjs add <id> --schema thermometer [--token] --out <file>
//   node devices-admin.mjs rotate <id> --out <file>     new secret first, the old one kept
//   node devices-admin.mjs rotate <id> --drop-old        once the device signs with the new one
//   node devices-admin.mjs disable <id> | enable <id>
// Add `--local` to edit `wrangler dev`'s local KV instead of the deployed one. New secrets and
// tokens are written to the --out file (mode 600) for provisioning the device, never printed.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SCHEMAS } from './readings.js';
import { DEVICE_ID } from './registry.js';
import { WRANGLER } from './wrangler-cli.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const newSecret = () => 'whsec_' + randomBytes(32).toString('base64');
const sha256 = (text) => createHash('sha256').update(text).digest('hex');

/** The registry value after `command`, and the credentials to hand to the device (if any). */
export function applyCommand(command, current, { schema, token, dropOld } = {}) {
  switch (command) {
    case 'add': {
      if (current) throw new Error('this device already exists: rotate it instead');
      if (!Object.hasOwn(SCHEMAS, schema ?? '')) throw new Error(`--schema must be one of ${Object.keys(SCHEMAS).join(', ')}`);
      const handed = { secret: newSecret(), ...(token ? { token: randomBytes(32).toString('base64url') } : {}) };
      return { value: { secrets: [handed.secret], ...(token ? { tokenHashes: [sha256(handed.token)] } : {}), schema }, handed };
    }
    case 'rotate': {
      if (!current) throw new Error('no such device');
      if (dropOld) return { value: { ...current, secrets: current.secrets.slice(0, 1) } };
      const handed = { secret: newSecret() };
      // The old secrets keep verifying until --drop-old: devices switch without a gap, even
      // after two rotations (a device may still sign with any of them).
      return { value: { ...current, secrets: [handed.secret, ...(current.secrets ?? [])] }, handed };
    }
    case 'disable':
    case 'enable': {
      if (!current) throw new Error('no such device');
      const { disabled, ...rest } = current;
      return { value: command === 'disable' ? { ...rest, disabled: true } : rest };
    }
    default:
      throw new Error('command: add, rotate, disable or enable');
  }
}

/** `wrangler kv key ...`; a failure says only which command failed and how: its arguments and
 * output may hold the registry value, secrets included. */
function wranglerKv(args, where) {
  try {
    return execFileSync(WRANGLER[0], [WRANGLER[1], 'kv', 'key', ...args, '--binding', 'DEVICES', '--config', join(here, 'wrangler.toml'), where], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      // Not OFFLINE_ENV as a whole: without --local this talks to Cloudflare's API.
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    });
  } catch (e) {
    throw new Error(`wrangler kv key ${args[0]} failed (exit status ${e.status ?? 'unknown'}); run it by hand with the same --config to see why`, { cause: { status: e.status } });
  }
}

/** Put `value` under `id` through a private temporary file, never on a command line. */
function putValue(id, value, where) {
  const dir = mkdtempSync(join(tmpdir(), 'devices-admin-'));
  try {
    const file = join(dir, 'value.json');
    writeFileSync(file, JSON.stringify(value), { mode: 0o600 });
    wranglerKv(['put', id, '--path', file], where);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { schema: { type: 'string' }, token: { type: 'boolean' }, 'drop-old': { type: 'boolean' }, out: { type: 'string' }, local: { type: 'boolean' } },
  });
  const [command, id] = positionals;
  if (!id) throw new Error('usage: devices-admin.mjs <add|rotate|disable|enable> <device id> [options]');
  if (!DEVICE_ID.test(id)) throw new Error('a device id is 1 to 128 of [A-Za-z0-9._:-]');
  const where = values.local ? '--local' : '--remote';
  let current = null;
  try {
    current = JSON.parse(wranglerKv(['get', id, '--text'], where));
  } catch {
    // missing key: `wrangler kv key get` prints "Value not found"
  }
  const { value, handed } = applyCommand(command, current, { schema: values.schema, token: values.token, dropOld: values['drop-old'] });
  if (handed && !values.out) throw new Error('--out <file> is needed: the new secret goes there');
  // The credentials are written before the registry changes: a failed write then loses nothing.
  if (handed) writeFileSync(values.out, JSON.stringify({ deviceId: id, ...handed }, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  putValue(id, value, where);
  console.log(`${command} ${id}: done${handed ? `; credentials written to ${values.out}` : ''} (takes effect within the registry cache period)`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(`devices-admin: ${e.message}`);
    process.exit(1);
  });
}
