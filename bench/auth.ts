import { randomBytes } from 'node:crypto';

/**
 * Access tokens for the bench, should the server ask for them. The server is started with admin credentials
 * (BULKSYNC_ADMIN_CLIENT_ID / _SECRET, see the contract's "Access"); a server without /api/oauth/token (before
 * authentication is built) answers 404, and the bench then sends no Authorization header.
 */
export const BENCH_CLIENT_ID = 'bulksync-bench';

export function benchCredentials(): Record<string, string> {
  return { BULKSYNC_ADMIN_CLIENT_ID: BENCH_CLIENT_ID, BULKSYNC_ADMIN_CLIENT_SECRET: randomBytes(24).toString('hex') };
}

export class TokenSource {
  private token: string | undefined;
  private expiresAt = 0;
  /** 'none' until a token endpoint answered; then 'bearer'. */
  mode: 'unknown' | 'none' | 'bearer' = 'unknown';

  constructor(
    private readonly baseUrl: string,
    private readonly secret: string,
  ) {}

  /** Authorization header to send (empty when the server has no authentication), fresh for at least 2 minutes. */
  async headers(): Promise<Record<string, string>> {
    if (this.mode === 'none') return {};
    if (this.token && Date.now() < this.expiresAt - 120_000) return { authorization: `Bearer ${this.token}` };
    const res = await fetch(`${this.baseUrl}/api/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: BENCH_CLIENT_ID, client_secret: this.secret }),
    });
    if (res.status === 404) {
      this.mode = 'none';
      return {};
    }
    const text = await res.text();
    if (!res.ok) throw new Error(`POST /api/oauth/token answered ${res.status}: ${text.slice(0, 400)}`);
    const body = JSON.parse(text) as { access_token?: string; expires_in?: number };
    if (!body.access_token) throw new Error(`POST /api/oauth/token gave no access_token: ${text.slice(0, 400)}`);
    this.token = body.access_token;
    this.expiresAt = Date.now() + (body.expires_in ?? 600) * 1000;
    this.mode = 'bearer';
    return { authorization: `Bearer ${this.token}` };
  }
}
