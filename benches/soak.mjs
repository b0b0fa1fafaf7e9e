// The large soak (`npm run soak -- --records 1000000`): records with unique ids through the
// fault proxy (all faults mixed) into kinesalite, then a check of every record. Prints the report.
import { parseArgs } from 'node:util';
import { runSoak, MIXED_FAULTS } from '../tests/js/soak.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '1' },
    // kinesalite slows as its store grows (seconds per PutRecords past a few hundred thousand
    // records); a timeout below that makes every request time out after storing its batch.
    'request-timeout-ms': { type: 'string', default: '10000' },
  },
});
const report = await runSoak({
  records: Number(values.records),
  faults: MIXED_FAULTS,
  seed: Number(values.seed),
  options: { maxRecordsPerRequest: 500, requestTimeoutMs: Number(values['request-timeout-ms']) },
  onProgress: (s) => console.error(`${new Date().toISOString()} acknowledged ${s.recordsAcknowledged} of ${values.records}, ${s.requests} requests, p50/p99 ${s.latencyP50Ms}/${s.latencyP99Ms} ms`),
});
const ok = report.missing.length === 0 && report.wrongSequence.length === 0 && report.resentAfterSuccess === 0 && report.duplicates <= report.lostAnswerEntries;
console.log(JSON.stringify({ ...report, missing: report.missing.length, wrongSequence: report.wrongSequence.length, verdict: ok ? 'every record accounted for' : 'RECORDS LOST OR RESENT' }, null, 2));
process.exit(ok ? 0 : 1);
