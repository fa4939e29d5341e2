import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { sendProblems } from './errors';

/**
 * Requests per integration and minute, counted in this process's memory: with N API processes behind a load
 * balancer an integration gets up to N times the limit (see docs/operations.md).
 */
export function perIntegrationLimit(perMinute: number) {
  return rateLimit({
    windowMs: 60 * 1000,
    limit: perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req) => req.principal?.id ?? ipKeyGenerator(req.ip ?? ''),
    handler: (req, res, _next, options) => {
      const reset = (req as unknown as { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const seconds = reset ? Math.max(1, Math.ceil((reset.getTime() - Date.now()) / 1000)) : Math.ceil(options.windowMs / 1000);
      res.setHeader('Retry-After', String(seconds));
      sendProblems(res, 429, [{ code: 'RATE_LIMITED', detail: `more than ${perMinute} requests per minute for this integration` }]);
    },
  });
}
