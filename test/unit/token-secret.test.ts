import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tokenSecret } from '../../src/auth/token-secret';
import { ConfigError } from '../../src/config';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulksync-secret-'));
afterAll(() => {
  fs.chmodSync(dir, 0o700);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the token secret', () => {
  it('is BULKSYNC_TOKEN_SECRET when set, without touching the file', () => {
    const file = path.join(dir, 'set', 'token-secret');
    expect(tokenSecret('x'.repeat(32), file)).toBe('x'.repeat(32));
    expect(fs.existsSync(file)).toBe(false);
  });

  it('is generated once into a writable data directory (mode 0600) and read back', () => {
    const file = path.join(dir, 'data', 'token-secret');
    const first = tokenSecret(undefined, file);
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(tokenSecret(undefined, file)).toBe(first);
  });

  it('stops startup naming BULKSYNC_TOKEN_SECRET when no data directory can be written', () => {
    // A data directory that cannot exist (its parent is a file): ENOTDIR, whoever runs the test, root included.
    const blocker = path.join(dir, 'a-file');
    fs.writeFileSync(blocker, '');
    const call = () => tokenSecret(undefined, path.join(blocker, '.data', 'token-secret'));
    expect(call).toThrow(ConfigError);
    expect(call).toThrow(/BULKSYNC_TOKEN_SECRET is not set, and no secret can be generated into .*a-file\/\.data\/token-secret \(ENOTDIR/);
  });
});
