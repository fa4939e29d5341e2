import { isUtf8 } from 'node:buffer';
import express, { type NextFunction, type Request, type Response } from 'express';
import { ApiError } from '../errors';

/**
 * JSON bodies only: another content type is BODY_NOT_JSON (not an empty body silently), invalid UTF-8 is
 * refused instead of being replaced by U+FFFD, and the size limit answers 413.
 */
export function jsonBody(limitBytes: number) {
  const parse = express.json({
    limit: limitBytes,
    strict: false,
    type: () => true,
    verify: (_req, _res, buf) => {
      // After decompression: a gzip of nothing is as empty as no body.
      if (buf.length === 0) throw Object.assign(new Error('body is empty'), { type: 'body.empty', status: 400 });
      if (!isUtf8(buf)) throw Object.assign(new Error('body is not UTF-8'), { type: 'body.not.utf8', status: 400 });
    },
  });
  return (req: Request, res: Response, next: NextFunction) => {
    const type = req.get('content-type') ?? '';
    if (!/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
      next(new ApiError({ code: 'BODY_NOT_JSON', detail: `expected Content-Type application/json, got ${type ? `"${type.slice(0, 80)}"` : 'none'}`, pointer: '' }));
      return;
    }
    if (req.get('content-length') === '0') {
      next(new ApiError({ code: 'BODY_NOT_JSON', detail: 'the body is empty', pointer: '' }));
      return;
    }
    parse(req, res, (err?: unknown) => {
      // No body at all (no length, no transfer encoding) leaves req.body unset.
      if (!err && req.body === undefined) next(new ApiError({ code: 'BODY_NOT_JSON', detail: 'the body is empty', pointer: '' }));
      else next(err);
    });
  };
}
