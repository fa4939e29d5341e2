import type { Request } from 'express';
import type { Problem } from '../errors';

export type ClientCredentials = { ok: true; clientId: string; secret: string } | { ok: false; status: 400 | 401; problem: Problem; clientId: string };

/** Form-urlencoding as RFC 6749 §2.3.1 asks of Basic credentials: "+" is a space, then percent-decoding. */
function formDecode(v: string): string | undefined {
  try {
    return decodeURIComponent(v.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

const BAD_BASIC: Problem = {
  code: 'UNAUTHENTICATED',
  detail: 'the Authorization header must be "Basic " and base64 of the url-encoded client id, ":" and the url-encoded client secret',
};

/**
 * The client's id and secret from an HTTP Basic header (client_secret_basic, which most OAuth clients try first)
 * or from the body (client_secret_post, JSON or form). RFC 6749 §2.3 allows one method per request: both at once
 * is refused rather than guessing which one was meant.
 */
export function clientCredentials(req: Request): ClientCredentials {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const fromBody = { clientId: typeof body.client_id === 'string' ? body.client_id : '', secret: typeof body.client_secret === 'string' ? body.client_secret : '' };
  const header = req.headers.authorization;
  if (!header || !/^basic\s/i.test(header)) return { ok: true, ...fromBody };
  if (body.client_secret !== undefined) {
    return {
      ok: false,
      status: 400,
      problem: { code: 'VALUE_INVALID', detail: 'send the client secret either in the Authorization header or in the body, not both', pointer: '/client_secret' },
      clientId: fromBody.clientId,
    };
  }
  const decoded = Buffer.from(header.replace(/^basic\s+/i, '').trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const clientId = colon > 0 ? formDecode(decoded.slice(0, colon)) : undefined;
  const secret = colon > 0 ? formDecode(decoded.slice(colon + 1)) : undefined;
  if (!clientId || secret === undefined) return { ok: false, status: 401, problem: BAD_BASIC, clientId: '' };
  if (fromBody.clientId && fromBody.clientId !== clientId) {
    return { ok: false, status: 400, problem: { code: 'VALUE_INVALID', detail: 'client_id in the body differs from the one in the Authorization header', pointer: '/client_id' }, clientId };
  }
  return { ok: true, clientId, secret };
}
