import type { Request, Response } from 'express';

/**
 * A request refused before its body was read to the end (a header refused, too many problems, a syntax error):
 * the rest of the body is read and discarded before the answer goes out, so that the client, still uploading, gets
 * its whole answer.
 *
 * Answering first and closing the connection leaves unread bytes in the socket; closing it then makes the kernel
 * send a reset, which can destroy an answer the client has not read yet (seen with answers of a few hundred KB).
 * A rest of at most `maxDrainBytes` (declared by Content-Length, so at most the body limit) is read, and the
 * connection stays usable. A larger or undeclared rest is not waited for: the answer says `Connection: close`.
 */
export async function drainUnreadBody(req: Request, res: Response, maxDrainBytes: number): Promise<void> {
  if (req.readableEnded || req.destroyed) return;
  req.unpipe();
  const declared = Number(req.get('content-length'));
  if (!(Number.isFinite(declared) && declared <= maxDrainBytes)) {
    if (!res.headersSent) res.setHeader('Connection', 'close');
    req.resume();
    return;
  }
  await new Promise<void>((resolve) => {
    req.once('end', resolve);
    req.once('close', resolve);
    req.once('error', () => resolve());
    req.resume();
  });
}
