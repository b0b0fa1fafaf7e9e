#!/usr/bin/env node
// The package's command (`npx kinesis-edge setup ...`), Node only. Built into one file with the
// Node entry (scripts/build.sh); no page or worker entry imports it.
import { isKinesisEdgeError } from './errors.js';
import { parseSetupArgs, USAGE } from './setup/args.js';
import { runSetup } from './setup/run.js';

/** Exit statuses scripts can tell apart. */
const EXIT = { InvalidOption: 2, Credentials: 3, ExpiredCredentials: 3, Signing: 3, AccessDenied: 4, Validation: 5 };

async function main([command, ...args]) {
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command !== 'setup') {
    process.stderr.write(`kinesis-edge: ${command === undefined ? 'no command' : `unknown command "${command}"`}\n\n${USAGE}\n`);
    return 2;
  }
  try {
    const options = parseSetupArgs(args);
    if (options.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const result = await runSetup(options, { log: (line) => process.stderr.write(`kinesis-edge setup: ${line}\n`) });
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } catch (e) {
    if (!isKinesisEdgeError(e)) throw e;
    process.stderr.write(`kinesis-edge setup: error [${e.code}]: ${e.message}\n`);
    return EXIT[e.code] ?? 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
