import express, { Router } from 'express';
import { ipKeyGenerator, rateLimit, type Store } from 'express-rate-limit';
import type { Integrations } from '../auth/integrations';
import type { Tokens } from '../auth/tokens';
import { clientCredentials } from './client-credentials';
import { sendProblems } from './errors';

/** The client id a failed attempt counts against, wherever the client sent it. */
function attemptedClientId(req: express.Request): string {
  return clientCredentials(req).clientId;
}

/**
 * POST /api/oauth/token, grant_type=client_credentials, as JSON or form-encoded, the client's credentials in the
 * body or in an HTTP Basic header (client_secret_basic). Failed attempts are limited per
 * client id and address (successful ones are not counted), so a secret cannot be guessed at speed.
 */
export function tokenRoute(tokens: Tokens, integrations: Integrations, failuresPer15Minutes: number, store?: Store): Router {
  const r = Router();
  const limiter = rateLimit({
    windowMs: 15 * 60 * 1000,
    limit: failuresPer15Minutes,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req) => `${ipKeyGenerator(req.ip ?? '')}|${attemptedClientId(req)}`,
    // Shared by every API process on the database (RATE_LIMIT_STORE=database), so that more processes do not allow
    // more guesses; a store that does not answer lets the attempt through (the credentials are still checked).
    ...(store ? { store } : {}),
    passOnStoreError: true,
    handler: (req, res, _next, options) => {
      req.log.warn('token attempts limited', { clientId: attemptedClientId(req) || undefined });
      res.setHeader('Retry-After', String(Math.ceil(options.windowMs / 1000)));
      sendProblems(res, 429, [{ code: 'RATE_LIMITED', detail: 'too many failed token requests; wait before trying again' }]);
    },
  });
  r.post(
    '/api/oauth/token',
    express.json({ limit: '16kb' }),
    express.urlencoded({ extended: false, limit: '16kb' }),
    limiter,
    async (req, res) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (body.grant_type !== 'client_credentials') {
        sendProblems(res, 400, [{ code: 'VALUE_INVALID', detail: 'grant_type must be client_credentials', pointer: '/grant_type' }]);
        return;
      }
      const credentials = clientCredentials(req);
      if (!credentials.ok) {
        if (credentials.status === 401) res.setHeader('WWW-Authenticate', 'Basic realm="bulksync"');
        sendProblems(res, credentials.status, [credentials.problem]);
        return;
      }
      const { clientId, secret } = credentials;
      // A NUL cannot be in any stored client id (PostgreSQL text cannot hold it): no such client.
      const usable = clientId && secret && !clientId.includes('\u0000') && !secret.includes('\u0000');
      const integration = usable ? await integrations.authenticate(clientId, secret) : undefined;
      if (!integration) {
        req.log.warn('token refused', { clientId: clientId || undefined });
        res.setHeader('WWW-Authenticate', 'Basic realm="bulksync"');
        sendProblems(res, 401, [{ code: 'UNAUTHENTICATED', detail: 'unknown client, revoked integration or wrong secret' }]);
        return;
      }
      res.setHeader('Cache-Control', 'no-store');
      res.json({ token_type: 'Bearer', expires_in: tokens.ttlSeconds, access_token: await tokens.issue(integration.id) });
    },
  );
  return r;
}
