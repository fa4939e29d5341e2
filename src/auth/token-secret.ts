import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config';

/** Errors that mean "this directory is not ours to write" (a read-only or foreign directory, as in a container). */
const NOT_WRITABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR']);

/**
 * The key that signs access tokens: BULKSYNC_TOKEN_SECRET, or one generated once and kept in `file` (mode 0600,
 * next to the embedded database) so that tokens survive a restart. Several processes behind a load balancer must
 * share BULKSYNC_TOKEN_SECRET instead. Where the file cannot be kept (a container running as a non-root user over
 * a read-only image), startup stops and names the variable rather than crashing on the write. Never logged.
 */
export function tokenSecret(configured: string | undefined, file: string): string {
  if (configured) return configured;
  const target = path.resolve(file);
  try {
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
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (!NOT_WRITABLE.has(code)) throw e;
    throw new ConfigError(
      `BULKSYNC_TOKEN_SECRET is not set, and no secret can be generated into ${target} (${code}: the directory is not ` +
        'writable for this user). Set BULKSYNC_TOKEN_SECRET to a random string of at least 32 characters, the same for ' +
        'every API process (for example: openssl rand -base64 48).',
    );
  }
}
