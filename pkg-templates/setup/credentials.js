// The caller's AWS credentials, found where the AWS CLI and SDKs look: the environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), else the profile AWS_PROFILE
// (default `default`) of the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, default
// ~/.aws/credentials). Errors name where was looked, never a key.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { kinesisError } from '../errors.js';

/** `{ section: { key: value } }` of an INI file (`#` and `;` comments; `[profile x]` allowed). */
function parseIni(text) {
  const sections = {};
  let current = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line[0] === '#' || line[0] === ';') continue;
    const header = /^\[\s*(?:profile\s+)?([^\]]+?)\s*\]$/.exec(line);
    if (header) current = sections[header[1]] ??= {};
    else if (current && line.includes('=')) {
      const i = line.indexOf('=');
      current[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
  }
  return sections;
}

export function loadCredentials() {
  const { env } = process;
  if (env.AWS_ACCESS_KEY_ID || env.AWS_SECRET_ACCESS_KEY) {
    if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) {
      throw kinesisError('Credentials', 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together');
    }
    return { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN || undefined };
  }
  const file = env.AWS_SHARED_CREDENTIALS_FILE || join(homedir(), '.aws', 'credentials');
  const profile = env.AWS_PROFILE || 'default';
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw kinesisError(
      'Credentials',
      `no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), or put profile "${profile}" in ${file}`,
    );
  }
  const section = parseIni(text)[profile];
  if (!section?.aws_access_key_id || !section?.aws_secret_access_key) {
    throw kinesisError('Credentials', `profile "${profile}" in ${file} has no aws_access_key_id and aws_secret_access_key`);
  }
  return { accessKeyId: section.aws_access_key_id, secretAccessKey: section.aws_secret_access_key, sessionToken: section.aws_session_token || undefined };
}
