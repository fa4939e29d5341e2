import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logger';

const ID = /^[A-Za-z0-9._:-]{1,128}$/;

declare module 'express-serve-static-core' {
  interface Request {
    id: string;
    log: Logger;
  }
  interface Locals {
    records?: number;
  }
}

/** Accepts a sane x-request-id or makes one, echoes it, and gives the request a child logger carrying it. */
export function requestContext(logger: Logger, onFinish?: (method: string, route: string, status: number) => void) {
  return (req: Request, res: Response, next: NextFunction) => {
    const given = req.get('x-request-id');
    req.id = given && ID.test(given) ? given : randomUUID();
    res.setHeader('x-request-id', req.id);
    req.log = logger.child({ requestId: req.id });
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      // The route pattern, not the path: ids in paths would make logs and metrics unbounded.
      const route = typeof req.route?.path === 'string' ? req.route.path : 'unmatched';
      onFinish?.(req.method, route, res.statusCode);
      req.log.info('request', {
        method: req.method,
        route,
        status: res.statusCode,
        durationMs: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
        records: res.locals.records,
      });
    });
    next();
  };
}
