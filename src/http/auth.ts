import type { NextFunction, Request, Response } from 'express';
import type { Integration, Integrations } from '../auth/integrations';
import { allows } from '../auth/privileges';
import type { Tokens } from '../auth/tokens';
import { ApiError } from '../errors';
import { sendProblems } from './errors';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Integration;
  }
}

/** Integration lookups are cached briefly: a revocation takes effect within this many milliseconds. */
const CACHE_MS = 5000;

function unauthenticated(res: Response, detail: string, error = 'invalid_token'): void {
  res.setHeader('WWW-Authenticate', `Bearer realm="bulksync", error="${error}", error_description="${detail}"`);
  sendProblems(res, 401, [{ code: 'UNAUTHENTICATED', detail }]);
}

/** Every /api route but the token route: a valid, unexpired Bearer token of an integration that is not revoked. */
export function requireToken(tokens: Tokens, integrations: Integrations) {
  const cache = new Map<string, { at: number; integration: Integration | undefined }>();
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) {
      unauthenticated(res, 'send Authorization: Bearer <access token> (POST /api/oauth/token)', 'invalid_request');
      return;
    }
    const verified = await tokens.verify(m[1]!);
    if (!verified.ok) {
      unauthenticated(res, verified.reason);
      return;
    }
    let hit = cache.get(verified.integrationId);
    if (!hit || Date.now() - hit.at > CACHE_MS) {
      hit = { at: Date.now(), integration: await integrations.byId(verified.integrationId) };
      cache.set(verified.integrationId, hit);
    }
    if (!hit.integration || hit.integration.revokedAt) {
      unauthenticated(res, 'the integration of this token was revoked');
      return;
    }
    req.principal = hit.integration;
    req.log = req.log.child({ integrationId: hit.integration.id });
    next();
  };
}

/** For routes whose privilege does not depend on the body: `entity:action` or 403. */
export function requirePrivilege(req: Request, entity: string, action: string): void {
  if (!req.principal || !allows(req.principal.privileges, entity, action)) {
    throw new ApiError({ code: 'FORBIDDEN', detail: `the integration lacks the privilege ${entity}:${action}`, meta: { privilege: `${entity}:${action}` } });
  }
}
