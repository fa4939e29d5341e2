import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../observability/logger';
import type { FinishedRequest } from '../observability/observers';
import { startRequestSpan } from '../observability/tracing';

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

/** What one finished request was, for the request log line and the metrics. */

/** The part of express's (router package's) layers the route lookup reads. */
interface LayerLike {
  match(path: string): false | { path: string };
  route?: { path: unknown; _handlesMethod(method: string): boolean };
  handle?: { stack?: LayerLike[] };
}

/** Probes scraped every few seconds: at debug, so that they do not drown the lines that matter. */
const PROBES = new Set(['/health', '/ready', '/metrics']);

/**
 * The route pattern that would serve this method and path. Needed for requests answered before their route ran
 * (a 401 or 429 from a middleware in front of the routes): their label is the route they asked for.
 */
function lookupRoute(stack: readonly LayerLike[], method: string, path: string): string | undefined {
  for (const layer of stack) {
    const m = matchLayer(layer, path);
    if (!m) continue;
    if (layer.route) {
      if (typeof layer.route.path === 'string' && layer.route._handlesMethod(method)) return layer.route.path;
    } else if (layer.handle?.stack) {
      const found = lookupRoute(layer.handle.stack, method, path.slice(m.path.length) || '/');
      if (found) return m.path + (found === '/' && m.path ? '' : found);
    }
  }
  return undefined;
}

/** A layer's match, or none when the path cannot be decoded (`%E0%A4%A`): the router throws a URIError for it. */
function matchLayer(layer: LayerLike, path: string): false | { path: string } {
  try {
    return layer.match(path);
  } catch {
    return false;
  }
}

function routeOf(req: Request, stack: () => readonly LayerLike[]): string {
  // The route pattern, not the path: ids in paths would make logs and metrics unbounded.
  if (typeof req.route?.path === 'string') return req.baseUrl + req.route.path;
  // The original path: a response sent inside a mounted middleware (app.use('/api', …)) leaves req.path stripped.
  const path = req.originalUrl.split('?')[0] ?? '/';
  return lookupRoute(stack(), req.method, path) ?? 'unmatched';
}

export interface RequestContextOptions {
  logger: Logger;
  /** The app's router (express 5's `app.router`), read when a request finishes. */
  router: () => unknown;
  onFinish?: (request: FinishedRequest) => void;
}

/**
 * Accepts a sane x-request-id or makes one, echoes it, gives the request a child logger carrying it, and writes one
 * line per request when its response is sent.
 */
export function requestContext({ logger, router, onFinish }: RequestContextOptions) {
  const stack = () => ((router() as { stack?: LayerLike[] }).stack ?? []);
  return (req: Request, res: Response, next: NextFunction) => {
    const given = req.get('x-request-id');
    req.id = given && ID.test(given) ? given : randomUUID();
    res.setHeader('x-request-id', req.id);
    // With tracing on: the request's span, whose trace id every log line of the request carries.
    const span = startRequestSpan(`${req.method} request`, { 'http.request.method': req.method });
    req.log = logger.child({ requestId: req.id, ...(span ? { traceId: span.traceId } : {}) });
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeOf(req, stack);
      onFinish?.({ method: req.method, route, status: res.statusCode, seconds });
      // Through the request's logger: it carries the request id and, once authenticated, the integration id.
      req.log.log(PROBES.has(route) ? 'debug' : res.statusCode >= 500 ? 'error' : 'info', 'request', {
        method: req.method,
        route,
        status: res.statusCode,
        durationMs: Math.round(seconds * 1e6) / 1000,
        records: res.locals.records,
        integration: req.principal?.clientId,
        ip: req.ip,
      });
    });
    // On close, not finish: a request whose client went away ends its span too.
    if (span) {
      res.once('close', () => {
        const route = routeOf(req, stack);
        span.end(`${req.method} ${route}`, { 'http.route': route, 'http.response.status_code': res.statusCode, 'bulksync.records': res.locals.records ?? 0, 'bulksync.answered': res.writableFinished }, res.statusCode >= 500);
      });
      span.run(next);
    }
    else next();
  };
}
