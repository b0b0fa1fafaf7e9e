// The IAM documents the setup command writes: who may assume the role (trust) and what the role
// may do (the inline policy: exactly what a producer calls, on the one stream).

import { kinesisError } from '../errors.js';

const VERSION = '2012-10-17';

/** The actions a producer calls: PutRecords, ListShards (aggregation's shard map),
 * DescribeStreamSummary (the stream's settings). */
export const PRODUCER_ACTIONS = ['kinesis:PutRecords', 'kinesis:ListShards', 'kinesis:DescribeStreamSummary'];

/** Unauthenticated identities of one Cognito identity pool, and nothing else. */
export function cognitoTrust(identityPoolId) {
  return {
    Version: VERSION,
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: 'cognito-identity.amazonaws.com' },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: { 'cognito-identity.amazonaws.com:aud': identityPoolId },
          'ForAnyValue:StringLike': { 'cognito-identity.amazonaws.com:amr': 'unauthenticated' },
        },
      },
    ],
  };
}

/** Principals of the account that IAM allows sts:AssumeRole (workers, servers). */
export function accountTrust(partition, account) {
  return {
    Version: VERSION,
    Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:${partition}:iam::${account}:root` }, Action: 'sts:AssumeRole' }],
  };
}

/** The role's inline policy; `metricsNamespace`: also CloudWatch PutMetricData, which takes no
 * resource but can be held to one namespace. */
export function producerPolicy(streamArn, metricsNamespace) {
  const statements = [{ Sid: 'WriteStream', Effect: 'Allow', Action: PRODUCER_ACTIONS, Resource: streamArn }];
  if (metricsNamespace !== undefined) {
    statements.push({
      Sid: 'PublishMetrics',
      Effect: 'Allow',
      Action: 'cloudwatch:PutMetricData',
      Resource: '*',
      Condition: { StringEquals: { 'cloudwatch:namespace': metricsNamespace } },
    });
  }
  return { Version: VERSION, Statement: statements };
}

/** A policy document as IAM answers it (URL-encoded JSON, RFC 3986) or as plain JSON. */
export function readPolicyDocument(text) {
  const trimmed = text.trim();
  try {
    return JSON.parse(trimmed.startsWith('{') ? trimmed : decodeURIComponent(trimmed));
  } catch {
    throw kinesisError('InvalidResponse', 'IAM answered with a policy document that is not URL-encoded JSON');
  }
}

/** Equal by value: objects whatever their key order, arrays in order. */
export function sameDocument(a, b) {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameDocument(x, b[i]));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && sameDocument(a[k], b[k]));
  }
  return a === b;
}
