// The IAM role devices (or workers) assume, and its inline policy. An existing role is used only
// when its trust policy is the one asked for: changing who may assume someone else's role could
// lock them out, so a different one is an error that says what to do, never an update.
import { kinesisError } from '../errors.js';
import { xmlText } from './xml.js';
import { readPolicyDocument, sameDocument } from './policies.js';

const POLICY_NAME = 'kinesis-edge-producer';

/** The answer of an IAM read, or null when IAM has no such entity. */
async function existing(ctx, action, params) {
  try {
    return await ctx.aws.query('iam', action, params);
  } catch (e) {
    if (e.awsCode === 'NoSuchEntity') return null;
    throw e;
  }
}

/** The role's ARN, the role trusting `trust` (in a dry run, the ARN it would have). */
export async function ensureRole(ctx, trust) {
  const { role: name } = ctx.options;
  const found = await existing(ctx, 'GetRole', { RoleName: name });
  if (found) {
    const actual = readPolicyDocument(xmlText(found, 'Role', 'AssumeRolePolicyDocument'));
    if (!sameDocument(actual, trust)) {
      throw kinesisError(
        'Validation',
        `IAM role "${name}" exists with another trust policy (${JSON.stringify(actual)}), not the one this setup needs (${JSON.stringify(trust)}): choose another name with --role, or delete that role if it is an old one of yours`,
        { resource: 'role' },
      );
    }
    ctx.log(`IAM role "${name}" exists with the same trust policy: used as it is`);
    return xmlText(found, 'Role', 'Arn');
  }
  const input = { RoleName: name, AssumeRolePolicyDocument: trust, Description: `kinesis-edge producers writing to stream ${ctx.options.stream}` };
  const created = await ctx.change('iam:CreateRole', input, () =>
    ctx.aws.query('iam', 'CreateRole', { ...input, AssumeRolePolicyDocument: JSON.stringify(trust) }),
  );
  return created ? xmlText(created, 'Role', 'Arn') : `arn:${ctx.partition}:iam::${ctx.account}:role/${name}`;
}

/** The role's inline policy, put when missing or different (it is this command's own policy name). */
export async function ensureRolePolicy(ctx, policy) {
  const { role: name } = ctx.options;
  // A role that would be created in a dry run has no policy to read yet.
  const found = ctx.changed.has('iam:CreateRole') ? null : await existing(ctx, 'GetRolePolicy', { RoleName: name, PolicyName: POLICY_NAME });
  if (found && sameDocument(readPolicyDocument(xmlText(found, 'PolicyDocument')), policy)) {
    ctx.log(`IAM role "${name}" has the inline policy "${POLICY_NAME}" asked for: left as it is`);
    return;
  }
  if (found) ctx.log(`IAM role "${name}": inline policy "${POLICY_NAME}" differs from the one asked for: replaced`);
  const input = { RoleName: name, PolicyName: POLICY_NAME, PolicyDocument: policy };
  await ctx.change('iam:PutRolePolicy', input, () => ctx.aws.query('iam', 'PutRolePolicy', { ...input, PolicyDocument: JSON.stringify(policy) }));
}
