// One signed AWS call from the page: SigV4 by the package's signRequest, then fetch. The callers
// read the answer in their service's protocol (JSON for Kinesis, XML for CloudWatch's query API).
import { signRequest } from 'kinesis-edge';

/** POST `body` to `url`; resolves with `{ status, ok, text }`, rejects when nothing answered. */
export async function signedPost({ url, region, service, credentials, headers, body }) {
  const signed = await signRequest({ method: 'POST', url, headers, body, region, service, credentials });
  let response;
  try {
    response = await fetch(url, { method: 'POST', headers: { ...headers, ...signed }, body });
  } catch (e) {
    throw new Error(`${service} at ${new URL(url).host} did not answer (${e?.message ?? e})`);
  }
  return { status: response.status, ok: response.ok, text: await response.text() };
}
