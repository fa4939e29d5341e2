import type { Request } from 'express';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Transform } from 'node:stream';
import type { Problem } from '../errors';
import { BodyReadError } from '../sync/body/events';
import type { BodyFormat } from '../sync/body/read';

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\b/i;
const NDJSON_TYPE = /^application\/(x-ndjson|ndjson|jsonl|x-jsonlines)\b/i;

export type SyncBody = { ok: true; format: BodyFormat; bytes: AsyncIterable<Buffer> } | { ok: false; problem: Problem };

/**
 * The request's body as a stream of (decompressed) bytes, checked for type, encoding and size as it is read: a
 * body over the limit stops at the limit, it is never held whole. Content-Length over the limit is refused before
 * a byte is read.
 */
/** The body format a content type names, if any. */
export function bodyFormat(contentType: string): BodyFormat | undefined {
  return NDJSON_TYPE.test(contentType) ? 'ndjson' : JSON_TYPE.test(contentType) ? 'json' : undefined;
}

export function syncBody(req: Request, limitBytes: number): SyncBody {
  const type = req.get('content-type') ?? '';
  const format = bodyFormat(type);
  if (!format) {
    return {
      ok: false,
      problem: { code: 'BODY_NOT_JSON', detail: `expected Content-Type application/json or application/x-ndjson, got ${type ? `"${type.slice(0, 80)}"` : 'none'}`, pointer: '' },
    };
  }
  const length = Number(req.get('content-length'));
  const tooLarge: Problem = { code: 'BODY_TOO_LARGE', detail: `the body is larger than the limit of ${limitBytes} bytes (SYNC_MAX_BODY_BYTES)`, pointer: '' };
  if (length > limitBytes) return { ok: false, problem: tooLarge };
  const encoding = (req.get('content-encoding') ?? 'identity').trim().toLowerCase();
  const inflaters: Record<string, () => Transform> = { gzip: createGunzip, 'x-gzip': createGunzip, deflate: createInflate, br: createBrotliDecompress };
  const inflater = inflaters[encoding];
  if (!inflater && encoding !== 'identity') {
    return { ok: false, problem: { code: 'BODY_NOT_JSON', detail: 'unsupported Content-Encoding (gzip, deflate, br or identity)', pointer: '' } };
  }
  return { ok: true, format, bytes: limited(req, inflater, limitBytes, tooLarge) };
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
