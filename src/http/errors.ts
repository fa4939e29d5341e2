import type { NextFunction, Request, Response } from 'express';
import { isRetryable } from '../db/sql';
import { ApiError, bodyTooLarge, toJsonApi, type Problem } from '../errors';

interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
  message?: string;
}

/** body-parser failures → the contract's codes. */
function fromBodyParser(err: BodyParserError): Problem | undefined {
  switch (err.type) {
    case 'entity.too.large':
      return bodyTooLarge(err.limit);
    case 'entity.parse.failed':
      return { code: 'BODY_NOT_JSON', detail: `the body is not valid JSON: ${err.message ?? ''}`.trim(), pointer: '' };
    case 'encoding.unsupported':
      return { code: 'BODY_NOT_JSON', detail: 'unsupported Content-Encoding (gzip, deflate, br or identity)', pointer: '' };
    case 'charset.unsupported':
      return { code: 'BODY_NOT_JSON', detail: 'the body must be UTF-8 encoded JSON', pointer: '' };
    case 'body.empty':
      return { code: 'BODY_NOT_JSON', detail: 'the body is empty', pointer: '' };
    case 'body.not.utf8':
      return { code: 'BODY_NOT_JSON', detail: 'the body is not valid UTF-8', pointer: '' };
    default:
      // Any other refusal of the body parser (a corrupt gzip stream, an aborted upload) is the client's.
      if (typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
        return { code: 'BODY_NOT_JSON', detail: 'the body could not be read (corrupt compression or an incomplete upload)', pointer: '' };
      }
      return undefined;
  }
}

/** Seconds a client is asked to wait before sending a request again that lost to concurrent writes. */
const CONFLICT_RETRY_AFTER_SECONDS = 1;

/** Seconds a client is asked to wait when the database (or a read replica) cannot be reached. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/**
 * The database could not be reached or gave up the connection: refused, reset, timed out, shutting down
 * (PostgreSQL class 08 and 57P0x), or no pooled connection came free in time. The request did not commit.
 */
function isDatabaseUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, name } = err as { code?: unknown; name?: unknown };
  if (name === 'KnexTimeoutError') return true;
  if (typeof code !== 'string') return false;
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code) || code.startsWith('08') || /^57P0[1-3]$/.test(code);
}

export function sendProblems(res: Response, status: number, problems: Problem[]): void {
  res.status(status).type('application/vnd.api+json').json({ errors: problems.map(toJsonApi) });
}

/** The one place where errors become responses: JSON:API documents, never SQL or a stack trace. */
export function errorHandler(err: unknown, req: Request, res: Response, _next: NextFunction): void {
  if (err instanceof ApiError) {
    req.log?.info('request rejected', { codes: [...new Set(err.problems.map((p) => p.code))], errors: err.problems.length });
    // Concurrent writes won every retry: the client may send the same request again shortly.
    // The same for a request whose idempotency key is still being run by another: it may ask again shortly.
    if (err.problems.some((p) => p.code === 'CONFLICT_RETRY_EXHAUSTED' || p.code === 'IDEMPOTENCY_IN_FLIGHT')) res.set('Retry-After', String(CONFLICT_RETRY_AFTER_SECONDS));
    sendProblems(res, err.status, err.problems);
    return;
  }
  const bp = fromBodyParser(err as BodyParserError);
  if (bp) {
    req.log?.info('request rejected', { codes: [bp.code] });
    sendProblems(res, bp.code === 'BODY_TOO_LARGE' ? 413 : 400, [bp]);
    return;
  }
  if (isRetryable(err)) {
    // A read that lost to a concurrent write or to a replica's replay (40001, 40P01): sending it again is the remedy.
    req.log?.warn('request lost to a concurrent change', { pgCode: (err as { code?: string }).code });
    res.set('Retry-After', String(CONFLICT_RETRY_AFTER_SECONDS));
    sendProblems(res, 503, [{ code: 'CONFLICT_RETRY_EXHAUSTED', detail: 'the request conflicted with a concurrent change and was cancelled; nothing was written, send it again' }]);
    return;
  }
  if (isDatabaseUnavailable(err) || (err instanceof Error && err.message === 'Connection terminated unexpectedly')) {
    req.log?.error('database unavailable', { error: err instanceof Error ? err.message : String(err) });
    res.set('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    sendProblems(res, 503, [{ code: 'DATABASE_UNAVAILABLE', detail: `the database cannot be reached right now; nothing was written, try again later (request id ${req.id})` }]);
    return;
  }
  req.log?.error('internal error', { error: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) });
  sendProblems(res, 500, [{ code: 'INTERNAL', detail: `An internal error occurred; quote request id ${req.id} to the operator.` }]);
}
