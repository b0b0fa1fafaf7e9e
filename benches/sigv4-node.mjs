// The hand-written peer: what a careful developer writes without any library. JSON.stringify of
// each reading, base64 through Buffer, the PutRecords JSON body, and AWS Signature Version 4 with
// node:crypto (SHA-256 of the body and of the canonical request, HMAC-SHA256 for the key and the
// signature; the derived key cached per day). Signs content-type;host;x-amz-date;
// x-amz-security-token;x-amz-target like the SDK does for Kinesis. `checkSignature()` compares it
// with aws4fetch on a fixed date, so the peer is known to sign correctly.
import { createHash, createHmac } from 'node:crypto';
import { REGION, STREAM, ENDPOINT, CREDENTIALS } from './peers-common.mjs';

const SERVICE = 'kinesis';
const TARGET = 'Kinesis_20131202.PutRecords';
const CONTENT_TYPE = 'application/x-amz-json-1.1';

export function handSigner({ region = REGION, endpoint = ENDPOINT, credentials = CREDENTIALS, streamName = STREAM } = {}) {
  const url = new URL(endpoint);
  const host = url.host;
  const { accessKeyId, secretAccessKey, sessionToken } = credentials;
  const signedHeaders = sessionToken ? 'content-type;host;x-amz-date;x-amz-security-token;x-amz-target' : 'content-type;host;x-amz-date;x-amz-target';
  let keyDay = '';
  let key;

  /** The signed request for `body` at `now` (ms): `{ url, method, headers, body }`. */
  function sign(body, now = Date.now()) {
    const amzDate = new Date(now).toISOString().replace(/[-:]|\.\d{3}/g, '');
    const day = amzDate.slice(0, 8);
    if (day !== keyDay) {
      const kDate = createHmac('sha256', 'AWS4' + secretAccessKey).update(day).digest();
      const kRegion = createHmac('sha256', kDate).update(region).digest();
      const kService = createHmac('sha256', kRegion).update(SERVICE).digest();
      key = createHmac('sha256', kService).update('aws4_request').digest();
      keyDay = day;
    }
    const payloadHash = createHash('sha256').update(body).digest('hex');
    const canonicalHeaders =
      `content-type:${CONTENT_TYPE}\nhost:${host}\nx-amz-date:${amzDate}\n` +
      (sessionToken ? `x-amz-security-token:${sessionToken}\n` : '') +
      `x-amz-target:${TARGET}\n`;
    const canonicalRequest = `POST\n/\n\n${canonicalHeaders}\n${signedHeaders}\n${payloadHash}`;
    const scope = `${day}/${region}/${SERVICE}/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
    const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
    const headers = {
      'content-type': CONTENT_TYPE,
      'x-amz-date': amzDate,
      'x-amz-target': TARGET,
      authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    };
    if (sessionToken) headers['x-amz-security-token'] = sessionToken;
    return { url: url.origin + '/', method: 'POST', headers, body };
  }

  /** The PutRecords body for `records` ({ data, partitionKey }). */
  function body(records) {
    return JSON.stringify({
      Records: records.map((r) => ({ Data: Buffer.from(JSON.stringify(r.data)).toString('base64'), PartitionKey: r.partitionKey })),
      StreamName: streamName,
    });
  }

  return { sign, body };
}

/** The peer in the benchmarks' shape: `batch(records)` -> `{ signed, done }` (both: the signed request). */
export function handSigV4Peer(options) {
  const signer = handSigner(options);
  return (records) => {
    const signed = Promise.resolve(signer.sign(signer.body(records)));
    return { signed, done: signed };
  };
}

/**
 * Throws unless the hand-written signature equals that of the SDK's signer (@smithy/signature-v4,
 * which signs content-type like the SDK's Kinesis client; aws4fetch leaves content-type unsigned)
 * for the same request and date.
 */
export async function checkSignature() {
  const { SignatureV4 } = await import('@smithy/signature-v4');
  class Sha256 {
    constructor(secret) {
      this.hash = secret ? createHmac('sha256', secret) : createHash('sha256');
    }
    update(data) {
      this.hash.update(data);
    }
    async digest() {
      return new Uint8Array(this.hash.digest());
    }
  }
  const now = Date.UTC(2026, 10, 30, 12, 34, 56);
  const signer = handSigner();
  const body = signer.body([{ data: { a: 1 }, partitionKey: 'k' }]);
  const mine = signer.sign(body, now);
  const url = new URL(ENDPOINT);
  // The request as it is before signing (the signer adds x-amz-date and authorization).
  const unsigned = { ...mine.headers, host: url.host };
  delete unsigned.authorization;
  delete unsigned['x-amz-date'];
  const theirs = await new SignatureV4({ credentials: CREDENTIALS, region: REGION, service: SERVICE, sha256: Sha256, applyChecksum: false }).sign(
    { method: 'POST', protocol: url.protocol, hostname: url.hostname, path: '/', query: {}, headers: unsigned, body },
    { signingDate: new Date(now) },
  );
  const theirAuth = theirs.headers.authorization;
  if (theirAuth !== mine.headers.authorization) throw new Error(`hand-written SigV4 differs from @smithy/signature-v4:\n  ${mine.headers.authorization}\n  ${theirAuth}`);
  return true;
}
