/** A JSON:API error as the service answers it. */
export interface ApiError {
  status?: string;
  code: string;
  title?: string;
  detail?: string;
  source?: { pointer?: string; header?: string; parameter?: string };
  meta?: Record<string, unknown>;
}

/** The service answered with an error status; `errors` are its error objects (empty when the body was not JSON:API). */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly errors: ApiError[],
    readonly headers: Headers,
  ) {
    super(`HTTP ${status}: ${errors.map((e) => `${e.code}${e.detail ? ` (${e.detail})` : ''}`).join('; ') || 'no error document'}`);
    this.name = 'ApiProblem';
  }

  get code(): string | undefined {
    return this.errors[0]?.code;
  }
}

/** The service could not be reached (refused, reset, DNS, timeout), after the retries. */
export class ConnectionError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`cannot reach ${url}: ${reason}`);
    this.name = 'ConnectionError';
  }
}

/** The credentials were refused by the token route. */
export class AuthenticationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthenticationError';
  }
}

/** Why a fetch failed, in words a user understands ("connection refused" instead of "fetch failed"). */
export function networkReason(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (e as { code?: string }).code;
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused (is the service running?)',
    ECONNRESET: 'connection reset',
    ENOTFOUND: 'host not found',
    ETIMEDOUT: 'timed out',
    UND_ERR_SOCKET: 'the connection closed',
    UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
    UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  };
  if (code && known[code]) return known[code]!;
  return cause?.message ?? (e instanceof Error ? e.message : String(e));
}
