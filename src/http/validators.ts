import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';

/**
 * HTTP validators of read answers. The ETag is a strong validator over the answer's bytes: it changes whenever
 * anything answered changes (a field, a translation shown, an association, an aggregation) and only then.
 * `Cache-Control: private, no-cache` lets a client (or a storefront's own cache) keep an answer but ask again
 * each time, which costs a 304 without a body when nothing changed. The answer depends on the token and on
 * sw-language-id, hence private and Vary.
 */
export function etagOf(bytes: string): string {
  return `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 32)}"`;
}

/** Whether If-None-Match names this ETag (weak comparison, as RFC 9110 asks for If-None-Match), or is "*". */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((v) => {
    const tag = v.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}

/** Sends `body` as JSON with its ETag; with `revalidate`, a matching If-None-Match answers 304 without a body. */
export function sendValidated(req: Request, res: Response, body: unknown, revalidate: boolean): void {
  const bytes = JSON.stringify(body);
  const etag = etagOf(bytes);
  res.set({ ETag: etag, 'Cache-Control': 'private, no-cache' });
  // Appended to what other middleware varies on (CORS: Origin).
  res.vary('Authorization').vary('sw-language-id');
  if (revalidate && matches(req.get('if-none-match'), etag)) {
    res.status(304).end();
    return;
  }
  res.type('application/json').send(bytes);
}
