import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Encryption at rest of fields marked `"encrypted": true` (AES-256-GCM). The key is derived (HKDF-SHA256) from the
 * service's token secret, so every process sharing BULKSYNC_TOKEN_SECRET reads what another wrote, and changing the
 * secret makes stored values unreadable (they must be written again).
 * Stored form: `v1:<base64url of 12-byte iv | 16-byte tag | ciphertext>`.
 */
export class FieldCipher {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = Buffer.from(hkdfSync('sha256', secret, 'bulksync', 'bulksync field encryption v1', 32));
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return 'v1:' + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /** Throws when the value was not sealed with this key (another secret, or tampered with). */
  open(sealed: string): string {
    if (!sealed.startsWith('v1:')) throw new Error('not an encrypted value');
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}
