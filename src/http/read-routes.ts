import { LANGUAGE_HEADER } from '../definitions/translations';
import { Router, type Request } from 'express';
import type { Knex } from 'knex';
import { allows } from '../auth/privileges';
import { CHANGES_RETENTION_DAYS_DEFAULT, type Config } from '../config';
import type { Registry } from '../definitions/registry';
import { ApiError, showValue } from '../errors';
import type { Logger } from '../observability/logger';
import type { ReadAccess } from '../read/access';
import { ReadService, type ReadCaller } from '../read/service';
import type { ReadResult } from '../read/types';
import { criteriaFromQuery, type QueryCriteriaResult } from '../read/search-query-params';
import { jsonBody } from './json-body';
import { sendValidated } from './validators';

/** Search bodies are criteria, not data: a megabyte is generous (an equalsAny of ~25,000 ids). */
const SEARCH_MAX_BODY_BYTES = 1024 * 1024;

export interface ReadRouteDeps {
  /** The primary: the change feed always reads here (its horizon needs the primary's running transactions). */
  knex: Knex;
  /** A streaming replica for GET and search (DATABASE_READ_URL); absent: they read the primary too. */
  replica?: Knex;
  registry: Registry;
  /** Whatever part of the configuration the app has; missing keys take their defaults. */
  config: Partial<Config>;
  logger?: Logger;
  /**
   * Which entities the caller of a request may read. Checked for the entity, every association a request loads
   * (mapping tables included) and the feed's entities; without `entity`, the feed is limited to the readable ones.
   * Default: the `<entity>:read` privileges of the authenticated integration.
   */
  access?: (req: Request) => ReadAccess;
}

/**
 * `<entity>:read` of the integration the auth middleware put on the request. Without a principal nothing is
 * readable: a route mounted without authentication in front of it must say so by passing its own `access`.
 */
export function privilegeAccess(req: Request): ReadAccess {
  const privileges = req.principal?.privileges ?? [];
  return (entity) => allows(privileges, entity, 'read');
}

/** A POST without a body (no content type, no length) searches with empty criteria, as Shopware does. */
function hasBody(req: Request): boolean {
  return Boolean(req.get('content-type')) || Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
}

/**
 * `read-from: primary` sends one GET or search to the primary, for a client that must see its own sync at once
 * (read-your-writes) or take the snapshot a feed cursor resynchronises from. `replica` (the default) or absent:
 * the replica when one is configured.
 */
function wantsPrimary(req: Request): boolean {
  const given = req.get('read-from');
  if (given === undefined) return false;
  const v = given.trim().toLowerCase();
  if (v === 'primary' || v === 'replica') return v === 'primary';
  throw new ApiError({ code: 'HEADER_INVALID', detail: `read-from must be "primary" or "replica" (or absent), got ${showValue(given)}`, meta: { header: 'read-from' } });
}

/** The GET form's parameters as criteria, or their problems. */
function asResult(r: QueryCriteriaResult): ReadResult<Record<string, unknown>> {
  return r.ok ? { ok: true, value: r.body } : r;
}

/** The read side answers problems as values; here they become the error document (status from their codes). */
function answer<T>(result: ReadResult<T>): T {
  if (!result.ok) throw new ApiError(result.problems);
  return result.value;
}

/**
 * Read API: GET /api/_action/changes, POST and GET /api/search/<entity>, GET /api/<entity>/<id>. (The OpenAPI document
 * is served by openApiRoutes.)
 * Privileges come in through `access` (see ReadRouteDeps).
 * Mount before the 404 handler. The generic GET passes paths of the reserved "_" namespace on, so route order
 * with other /api/_… routes does not matter.
 */
export function readRoutes({ knex, replica, registry, config, logger, access = privilegeAccess }: ReadRouteDeps): Router {
  const options = { retentionDays: config.CHANGES_RETENTION_DAYS ?? CHANGES_RETENTION_DAYS_DEFAULT };
  const reads = new ReadService(knex, registry, options, logger);
  // Serves get and search only: they may lag behind the primary by the replication delay, the feed may not.
  const replicaReads = replica ? new ReadService(replica, registry, options, logger) : reads;
  const readsFor = (req: Request) => (wantsPrimary(req) ? reads : replicaReads);
  const caller = (req: Request): ReadCaller => ({ access: access(req), languageHeader: req.get(LANGUAGE_HEADER) });
  const r = Router();
  const body = jsonBody(SEARCH_MAX_BODY_BYTES);

  r.get('/api/_action/changes', async (req, res) => {
    const result = answer(await reads.changes(req.query as Record<string, unknown>, access(req)));
    res.locals.records = result.data.length;
    res.json(result);
  });

  r.post(
    '/api/search/:entity',
    (req, res, next) => (hasBody(req) ? body(req, res, next) : next()),
    async (req, res) => {
      const result = answer(await readsFor(req).search(req.params.entity, req.body, caller(req)));
      res.locals.records = result.data.length;
      // A POST is not revalidated (If-None-Match on it would mean a precondition): the GET form is.
      sendValidated(req, res, result, false);
    },
  );

  r.get('/api/search/:entity', async (req, res) => {
    const criteria = answer(asResult(criteriaFromQuery(req.query as Record<string, unknown>)));
    const result = answer(await readsFor(req).search(req.params.entity, criteria, caller(req)));
    res.locals.records = result.data.length;
    sendValidated(req, res, result, true);
  });

  r.get('/api/:entity/:id', async (req, res, next) => {
    // Entity names never start with "_": /api/_info/…, /api/_action/… belong to other routes, wherever mounted.
    if (req.params.entity.startsWith('_')) return next();
    const given = req.query.associations;
    const associations = typeof given === 'string' ? given : Array.isArray(given) ? given.join(',') : undefined;
    sendValidated(req, res, { data: answer(await readsFor(req).get(req.params.entity, req.params.id, associations, caller(req))) }, true);
  });

  return r;
}
