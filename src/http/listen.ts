import type { Server } from 'node:http';
import type { Express } from 'express';

export interface ListenOptions {
  port: number;
  host: string;
  /** HTTP_REQUEST_TIMEOUT_SECONDS; 0: no limit. */
  requestTimeoutSeconds: number;
}

/**
 * The HTTP server of the app. Node ends a request that has not arrived whole after requestTimeout (300 s by
 * default) with a bare 408 and closes the connection; the service reads a sync body only as fast as it writes it,
 * so a large import's body arrives for as long as the import runs, and a 1,000,000-record import on a busy machine
 * met that limit. The request's transaction is rolled back either way; the limit is ours to set.
 *
 * A client may also close its sending side once its request is out (a simple uploader, `nc`, some HTTP/1.0 clients)
 * and then read the answer. By default Node ends the connection as soon as that half-close arrives, which also aborts
 * the request: a sync still waiting for PostgreSQL was rolled back and answered nothing. With httpAllowHalfOpen (read
 * by Node's HTTP server since its first versions, though not in its documentation) the answer is sent in full first,
 * then the connection closes. A FIN cannot be told from a client giving up: one that closes before its body's end is
 * still rolled back (its body is cut), one that closes after it gets a request that runs to its end and commits.
 */
export function listen(app: Express, opts: ListenOptions): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = app.listen(opts.port, opts.host, () => resolve(s));
    s.requestTimeout = opts.requestTimeoutSeconds * 1000;
    // Not in @types/node; test/integration/half-close.test.ts fails should Node stop reading it.
    (s as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    s.on('error', reject);
  });
}
