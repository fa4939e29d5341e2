import { ipKeyGenerator, rateLimit, type Store } from 'express-rate-limit';
import { sendProblems } from './errors';

/**
 * Requests per integration and minute. With a shared store (PostgresRateLimitStore, RATE_LIMIT_STORE=database, the
 * default) the limit holds across every API process on the database; with the in-memory store
 * (RATE_LIMIT_STORE=memory) each process counts alone, so N processes allow N times the limit.
 */
export function perIntegrationLimit(perMinute: number, store?: Store) {
  return rateLimit({
    windowMs: 60 * 1000,
    limit: perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    ...(store ? { store } : {}),
    // The database being unreachable fails the request on its own; the limiter does not turn that into a 500 first.
    passOnStoreError: true,
    keyGenerator: (req) => req.principal?.id ?? ipKeyGenerator(req.ip ?? ''),
    handler: (req, res, _next, options) => {
      const reset = (req as unknown as { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const seconds = reset ? Math.max(1, Math.ceil((reset.getTime() - Date.now()) / 1000)) : Math.ceil(options.windowMs / 1000);
      res.setHeader('Retry-After', String(seconds));
      sendProblems(res, 429, [{ code: 'RATE_LIMITED', detail: `more than ${perMinute} requests per minute for this integration` }]);
    },
  });
}
