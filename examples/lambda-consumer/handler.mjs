// AWS Lambda consumer of a Kinesis stream written by kinesis-edge producers (aggregated or not)
// or by anything else: each Kinesis record of the batch is unpacked with `deaggregate` and its
// readings are processed in order. A reading that fails stops the batch there and names its
// Kinesis record in `batchItemFailures` (the event source mapping needs
// `FunctionResponseTypes: ["ReportBatchItemFailures"]`): Lambda then retries from that record,
// so the readings before it in the same aggregated record are processed again (see README.md).
import { deaggregate, isKinesisEdgeError } from 'kinesis-edge';

const text = new TextDecoder();

/** A stable id of a reading across retries: its Kinesis record and its place in it. */
export const readingId = (user) => `${user.sequenceNumber}/${user.subSequenceNumber ?? 0}`;

/**
 * A Lambda handler for Kinesis events that calls `processReading(reading, user)` for every
 * reading, in order: `reading` is the record's data parsed as JSON, `user` what `deaggregate`
 * gave (`sequenceNumber`, `subSequenceNumber`, `partitionKey`, `data`, `arrivedAt`). Data that
 * is not JSON can never be processed: it is logged and skipped, not retried. `processReading`
 * throwing (a store that is down) fails the batch from that reading's Kinesis record on.
 */
export function kinesisConsumer(processReading, log = console) {
  return async (event) => {
    for (const record of event.Records) {
      const failed = { batchItemFailures: [{ itemIdentifier: record.kinesis.sequenceNumber }] };
      let users;
      try {
        users = deaggregate([record]);
      } catch (error) {
        // An aggregate with a good checksum and a broken body: retried, then (with
        // MaximumRetryAttempts and an OnFailure destination) handed on, never dropped silently.
        if (!isKinesisEdgeError(error)) throw error;
        log.error(JSON.stringify({ failed: record.kinesis.sequenceNumber, code: error.code, message: error.message }));
        return failed;
      }
      for (const user of users) {
        let reading;
        try {
          reading = JSON.parse(text.decode(user.data));
        } catch {
          log.warn(JSON.stringify({ skipped: readingId(user), reason: 'not JSON' }));
          continue;
        }
        try {
          await processReading(reading, user);
        } catch (error) {
          log.error(JSON.stringify({ failed: readingId(user), message: error?.message ?? String(error) }));
          return failed;
        }
      }
    }
    return { batchItemFailures: [] };
  };
}

/** The default processing: each device reading becomes CloudWatch metrics through the
 * Embedded Metric Format (a log line; no AWS call, no SDK). Other JSON is skipped. */
export function emitMetrics(reading, user, log = console) {
  if (typeof reading?.deviceId !== 'string') {
    log.warn(JSON.stringify({ skipped: readingId(user), reason: 'no deviceId' }));
    return;
  }
  const metrics = ['temperature', 'humidity', 'battery'].filter((name) => typeof reading[name] === 'number');
  log.log(JSON.stringify({
    _aws: {
      Timestamp: typeof reading.ts === 'number' ? reading.ts : user.arrivedAt ?? Date.now(),
      CloudWatchMetrics: [{ Namespace: 'DeviceReadings', Dimensions: [['deviceId']], Metrics: metrics.map((Name) => ({ Name })) }],
    },
    deviceId: reading.deviceId,
    readingId: readingId(user),
    ...Object.fromEntries(metrics.map((name) => [name, reading[name]])),
  }));
}

export const handler = kinesisConsumer((reading, user) => emitMetrics(reading, user));
