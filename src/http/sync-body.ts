import type { Request } from 'express';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Transform } from 'node:stream';
import { bodyTooLarge, type Problem } from '../errors';
import { BodyReadError } from '../sync/body/events';
import type { BodyFormat } from '../sync/body/read';
import type { ContentEncoding } from '../sync/options';

export type SyncBody = { ok: true; format: BodyFormat; bytes: AsyncIterable<Buffer> } | { ok: false; problem: Problem };

const INFLATERS: Record<string, () => Transform> = { gzip: createGunzip, 'x-gzip': createGunzip, deflate: createInflate, br: createBrotliDecompress };

/** The decompressor of a (checked) Content-Encoding; none for identity. */
export function inflater(encoding: ContentEncoding): (() => Transform) | undefined {
  return INFLATERS[encoding];
}

export interface BodyLimits {
  /** Content-Type and Content-Encoding as the table of src/sync/options.ts parsed them. */
  format: BodyFormat;
  encoding: ContentEncoding;
  limitBytes: number;
}

/**
 * The request's body as a stream of (decompressed) bytes, checked for size as it is read: a body over the limit
 * stops at the limit, it is never held whole. Content-Length over the limit is refused before a byte is read.
 */
export function syncBody(req: Request, { format, encoding, limitBytes }: BodyLimits): SyncBody {
  const length = Number(req.get('content-length'));
  const tooLarge = bodyTooLarge(limitBytes);
  if (length > limitBytes) return { ok: false, problem: tooLarge };
  return { ok: true, format, bytes: limited(req, inflater(encoding), limitBytes, tooLarge) };
}

/**
 * The bytes, counted against the limit. Nothing is read (or piped into a decompressor) until the first pull, so a
 * request refused before its body is read leaves the body to node, which discards it once the answer is sent.
 */
async function* limited(req: Request, inflater: (() => Transform) | undefined, limit: number, tooLarge: Problem): AsyncGenerator<Buffer> {
  const inflate = inflater?.();
  // Errors reach the iterator below; this keeps one that comes after the reading stopped from being unhandled, and
  // tells the decompressor's own failures (any codec: zlib's Z_* codes, brotli's ERR__ERROR_FORMAT_*) apart.
  let inflateError: unknown;
  inflate?.on('error', (e) => {
    inflateError = e;
  });
  // Not destroyed when the reading stops early (an error answered before the end): the answer still goes out on the
  // same connection.
  const source: AsyncIterable<Buffer> = inflate ? req.pipe(inflate) : req.iterator({ destroyOnReturn: false });
  let read = 0;
  try {
    for await (const chunk of source) {
      read += chunk.length;
      if (read > limit) throw new BodyReadError(tooLarge);
      yield chunk;
    }
  } catch (e) {
    if (inflate && e === inflateError) {
      throw new BodyReadError({ code: 'BODY_NOT_JSON', detail: 'the body could not be decompressed (corrupt compression)', pointer: '' });
    }
    throw e;
  } finally {
    if (inflate) req.unpipe(inflate);
  }
}
