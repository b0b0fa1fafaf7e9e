// The Cognito identity pool for unauthenticated browser identities, its role, and the wait until
// IAM has propagated: the pool's credentials must actually work on the stream before the command
// says it is done, so a page deployed right after it does not see a minute of refusals.
import { kinesisError } from '../errors.js';
import { fromCognitoIdentityPool } from '../node.js';

/** The id of the pool named `name` that allows unauthenticated identities (created when there
 * is none; in a dry run, a placeholder). */
export async function ensurePool(ctx) {
  const name = ctx.options.identityPool;
  const named = [];
  let NextToken;
  do {
    const page = await ctx.aws.json('cognito-identity', 'ListIdentityPools', { MaxResults: 60, ...(NextToken && { NextToken }) });
    named.push(...(page.IdentityPools ?? []).filter((p) => p.IdentityPoolName === name));
    ({ NextToken } = page);
  } while (NextToken);
  if (named.length > 1) {
    throw kinesisError(
      'Validation',
      `${named.length} identity pools are named "${name}" (${named.map((p) => p.IdentityPoolId).join(', ')}): pass a name no other pool has to --identity-pool`,
      { resource: 'identityPool' },
    );
  }
  if (named.length === 1) {
    const id = named[0].IdentityPoolId;
    const pool = await ctx.aws.json('cognito-identity', 'DescribeIdentityPool', { IdentityPoolId: id });
    if (pool.AllowUnauthenticatedIdentities !== true) {
      throw kinesisError(
        'Validation',
        `identity pool "${name}" (${id}) exists and does not allow unauthenticated identities: pass another name to --identity-pool, or allow them on that pool`,
        { resource: 'identityPool' },
      );
    }
    ctx.log(`identity pool "${name}" exists (${id}) and allows unauthenticated identities: used as it is`);
    return id;
  }
  const input = { IdentityPoolName: name, AllowUnauthenticatedIdentities: true };
  const created = await ctx.change('cognito-identity:CreateIdentityPool', input, () => ctx.aws.json('cognito-identity', 'CreateIdentityPool', input));
  if (!created) return '<new identity pool id>';
  if (typeof created.IdentityPoolId !== 'string') throw kinesisError('InvalidResponse', 'cognito-identity:CreateIdentityPool answered without IdentityPoolId');
  return created.IdentityPoolId;
}

/** Unauthenticated identities of the pool get `roleArn`; the pool's other roles are kept. */
export async function ensurePoolRole(ctx, identityPoolId, roleArn) {
  const current = ctx.changed.has('cognito-identity:CreateIdentityPool')
    ? {}
    : await ctx.aws.json('cognito-identity', 'GetIdentityPoolRoles', { IdentityPoolId: identityPoolId });
  const roles = current.Roles ?? {};
  if (roles.unauthenticated === roleArn) {
    ctx.log(`identity pool ${identityPoolId} gives unauthenticated identities ${roleArn}: left as it is`);
    return;
  }
  if (roles.unauthenticated) {
    throw kinesisError(
      'Validation',
      `identity pool ${identityPoolId} gives unauthenticated identities another role (${roles.unauthenticated}): pass another name to --identity-pool, or --role with that role's name if it is this setup's`,
      { resource: 'identityPool' },
    );
  }
  const input = { IdentityPoolId: identityPoolId, Roles: { ...roles, unauthenticated: roleArn }, ...(current.RoleMappings && { RoleMappings: current.RoleMappings }) };
  await ctx.change('cognito-identity:SetIdentityPoolRoles', input, () =>
    ctx.aws.json('cognito-identity', 'SetIdentityPoolRoles', input).catch((e) => {
      // Cognito answers NotAuthorizedException when the caller may not pass the role to it.
      if (e.awsCode !== 'NotAuthorizedException') throw e;
      throw kinesisError(
        'AccessDenied',
        `cognito-identity:SetIdentityPoolRoles was refused: the caller may not iam:PassRole ${roleArn} to Cognito (allow iam:PassRole on the role to the caller), or the new role is not visible to Cognito yet (run the command again).`,
        { action: 'iam:PassRole', awsCode: e.awsCode },
      );
    }),
  );
}

/**
 * Until an unauthenticated identity of the pool gets credentials (the role's trust has
 * propagated) and those credentials may DescribeStreamSummary on the stream (its policy has):
 * the same calls a page makes, bounded by --wait-seconds.
 */
export function untilPoolCredentialsWork(ctx, identityPoolId) {
  const { region, endpoint, stream } = ctx.options;
  const credentials = fromCognitoIdentityPool({ identityPoolId, region, endpoint, storage: null });
  let last;
  return ctx.waitUntil(
    'IAM to propagate (identity pool credentials allowed on the stream)',
    async () => {
      try {
        const pageAws = ctx.awsWith(await credentials());
        await pageAws.json('kinesis', 'DescribeStreamSummary', { StreamName: stream });
        return true;
      } catch (e) {
        last = e;
        return undefined;
      }
    },
    () => `; last refusal: ${last?.message}. Everything is created: IAM changes usually take effect within a minute or two`,
  );
}
