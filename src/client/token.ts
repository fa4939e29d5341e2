import { AuthenticationError, ConnectionError, networkReason } from './errors';

export interface Credentials {
  clientId: string;
  clientSecret: string;
}

/** Renew this long before the token expires, so that no request is sent with a token about to lapse. */
const RENEW_MARGIN_MS = 60_000;

/**
 * An access token of the client-credentials grant, fetched on first use and renewed before it expires (at the
 * latest a minute before, or at half its lifetime when that is shorter). Concurrent callers share one request.
 */
export class TokenSource {
  private token?: { value: string; renewAt: number };
  private pending?: Promise<string>;

  constructor(
    private readonly baseUrl: string,
    private readonly credentials: Credentials,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<string> {
    if (this.token && this.now() < this.token.renewAt) return this.token.value;
    this.pending ??= this.fetchToken().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** Forget the token (the service refused it): the next get() asks for a new one. */
  invalidate(): void {
    this.token = undefined;
  }

  private async fetchToken(): Promise<string> {
    const url = `${this.baseUrl}/api/oauth/token`;
    const started = this.now();
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'client_credentials', client_id: this.credentials.clientId, client_secret: this.credentials.clientSecret }),
      });
    } catch (e) {
      throw new ConnectionError(this.baseUrl, networkReason(e));
    }
    const body = (await res.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; errors?: { detail?: string }[] };
    if (res.status === 401 || res.status === 400) {
      throw new AuthenticationError(`the service refused the credentials of client "${this.credentials.clientId}": ${body.errors?.[0]?.detail ?? `HTTP ${res.status}`}`);
    }
    if (!res.ok || !body.access_token) {
      throw new AuthenticationError(`no token from ${url}: HTTP ${res.status} ${body.errors?.[0]?.detail ?? ''}`.trim());
    }
    const lifetimeMs = (body.expires_in ?? 600) * 1000;
    this.token = { value: body.access_token, renewAt: started + lifetimeMs - Math.min(RENEW_MARGIN_MS, lifetimeMs / 2) };
    return body.access_token;
  }
}
