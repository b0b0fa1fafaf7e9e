// The AWS calls of the setup command, each signed by the package's own core (signRequest): the
// JSON 1.1 protocol (Kinesis, Cognito identity) and the query protocol (IAM, STS, answering in
// XML). Errors are the core's classification of the answer, named by the IAM action refused.
import { signRequest } from '../node.js';
import { answerError, endpointUrl } from '../kinesis_edge.js';
import { kinesisError } from '../errors.js';
import { parseXml, xmlFind, xmlText } from './xml.js';

const encoder = new TextEncoder();
const RETRIED = new Set(['Throttled', 'ServiceUnavailable', 'Network']);
// A create that failed with 5xx or on the network may have been done all the same: sent again,
// it would make a second identity pool of the name (every later run refusing the pair), or
// fail as already existing. Only throttling, which did nothing, is retried; the next run finds
// what exists.
const RETRIED_CREATE = new Set(['Throttled']);
const ATTEMPTS = 4;
const RETRY_DELAY_MS = 250;
const JSON_TARGETS = { kinesis: 'Kinesis_20131202', 'cognito-identity': 'AWSCognitoIdentityService' };
const QUERY_VERSIONS = { iam: '2010-05-08', sts: '2011-06-15' };

/** IAM is global: one endpoint per partition, signed for that partition's home region. */
function iamEndpoint(region) {
  if (region.startsWith('cn-')) return { url: 'https://iam.cn-north-1.amazonaws.com.cn/', region: 'cn-north-1' };
  if (region.startsWith('us-gov-')) return { url: 'https://iam.us-gov.amazonaws.com/', region: 'us-gov-west-1' };
  return { url: 'https://iam.amazonaws.com/', region: 'us-east-1' };
}

/** What to do about a refusal, added to the service's own words. */
function advice(error, action) {
  if (error.code === 'AccessDenied') return ` The caller may not ${action}: allow it to the caller, or have an administrator run this command.`;
  if (error.code === 'ExpiredCredentials' || error.code === 'Signing') return ' Check the AWS credentials (environment or profile).';
  if (/:Create/.test(action) && (error.code === 'ServiceUnavailable' || error.code === 'Network')) {
    return ' It may have been done all the same: run the command again, which finds what exists.';
  }
  return '';
}

function refused(error, action) {
  error.message = `${action} was refused: ${error.message.replace(/\.*\s*$/, '')}.${advice(error, action)}`;
  error.action = action;
  return error;
}

/** An error answer for the core to classify: JSON as it is; XML (the query protocol's, and
 * what some emulators send for any protocol) as the `{ __type, message }` it carries. */
function errorBody(text) {
  if (!text.trimStart().startsWith('<')) return encoder.encode(text);
  try {
    const error = xmlFind(parseXml(text), 'Error');
    if (error) return encoder.encode(JSON.stringify({ __type: xmlText(error, 'Code'), message: xmlText(error, 'Message') }));
  } catch {
    // Not an XML error document: the core quotes the body as it is.
  }
  return encoder.encode(text);
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A client for `{ region, endpoint?, credentials }`: `json(service, operation, input)` and
 * `query(service, action, params)`; with `endpoint`, every service is sent to that one URL.
 * Throttling, 5xx and network failures are tried again (4 attempts, jittered backoff).
 */
export function awsClient({ region, endpoint, credentials }) {
  function target(service) {
    if (service !== 'iam') return { url: endpointUrl(service, region, endpoint), region };
    const home = iamEndpoint(region);
    return endpoint === undefined ? home : { url: endpointUrl(service, home.region, endpoint), region: home.region };
  }

  async function send(service, action, headers, body) {
    const { url, region: signingRegion } = target(service);
    for (let attempt = 1; ; attempt++) {
      const signed = await signRequest({ method: 'POST', url, headers, body, region: signingRegion, service, credentials });
      let response;
      let text;
      try {
        response = await fetch(url, { method: 'POST', headers: { ...headers, ...signed }, body });
        text = await response.text();
      } catch (e) {
        response = null;
        text = e?.cause?.message ?? e?.message ?? String(e);
      }
      if (response?.ok) return text;
      const error = response
        ? answerError(response.status, response.headers.get('x-amzn-errortype') ?? undefined, errorBody(text))
        : kinesisError('Network', `could not reach ${url}: ${text}`);
      const retried = /:Create/.test(action) ? RETRIED_CREATE : RETRIED;
      if (!retried.has(error.code) || attempt === ATTEMPTS) throw refused(error, action);
      await pause(RETRY_DELAY_MS * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
    }
  }

  return {
    /** A JSON 1.1 call (`kinesis`, `cognito-identity`): the answer's object. */
    async json(service, operation, input) {
      const action = `${service}:${operation}`;
      const text = await send(
        service,
        action,
        { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `${JSON_TARGETS[service]}.${operation}` },
        JSON.stringify(input),
      );
      try {
        return text.trim() === '' ? {} : JSON.parse(text);
      } catch {
        throw kinesisError('InvalidResponse', `${action} answered with a body that is not JSON`, { action });
      }
    },
    /** A query call (`iam`, `sts`): the `<{action}Result>` element of the XML answer. */
    async query(service, action, params = {}) {
      const body = new URLSearchParams({ Action: action, Version: QUERY_VERSIONS[service], ...params }).toString();
      const text = await send(service, `${service}:${action}`, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body);
      const root = parseXml(text);
      return root.children.find((c) => c.name === `${action}Result`) ?? { name: `${action}Result`, children: [], text: '' };
    },
  };
}
