import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The key that signs access tokens: BULKSYNC_TOKEN_SECRET, or one generated once and kept in `file` (mode 0600,
 * next to the embedded database) so that tokens survive a restart. Several processes behind a load balancer must
 * share BULKSYNC_TOKEN_SECRET instead. Never logged.
 */
export function tokenSecret(configured: string | undefined, file: string): string {
  if (configured) return configured;
  const target = path.resolve(file);
  if (fs.existsSync(target)) return fs.readFileSync(target, 'utf8').trim();
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  try {
    fs.writeFileSync(target, secret + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    // Another process wrote it first: use theirs.
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return fs.readFileSync(target, 'utf8').trim();
    throw e;
  }
  return secret;
}
