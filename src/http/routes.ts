import { Router, type Request, type Response } from 'express';
import type { Knex } from 'knex';
import { ping } from '../db/connection';
import type { SyncService } from '../sync/service';
import { ApiError, toJsonApi } from '../errors';
import type { IndexerSet } from '../indexing/registry';
import { syncBody } from './sync-body';
import { syncOptions } from './sync-options';
import type { Metrics } from './metrics';

/**
 * /ready needs the primary and, when DATABASE_READ_URL is set, the replica too: without it GET and search fail, so
 * a process that cannot reach it should get no traffic.
 */
export function healthRoutes(knex: Knex, replica?: Knex): Router {
  const r = Router();
  r.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/ready', async (_req, res) => {
    const [primaryOk, replicaOk] = await Promise.all([ping(knex), replica ? ping(replica) : Promise.resolve(true)]);
    const status = !primaryOk ? 'database unavailable' : !replicaOk ? 'read replica unavailable' : 'ok';
    res.status(primaryOk && replicaOk ? 200 : 503).json({ status, ...(replica ? { replica: replicaOk ? 'ok' : 'unavailable' } : {}) });
  });
  return r;
}

export interface SyncRouteDeps {
  sync: SyncService;
  indexers: IndexerSet;
  maxBodyBytes: number;
  metrics: Metrics;
}

/** The client closed the connection before its answer: the request is rolled back and nobody is left to answer. */
function clientGone(req: Request, e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return req.destroyed || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (e instanceof Error && e.message === 'aborted');
}

export function syncRoutes({ sync, indexers, maxBodyBytes, metrics }: SyncRouteDeps): Router {
  const r = Router();
  r.post('/api/_action/sync', async (req, res) => {
    try {
      await handleSync(req, res);
    } finally {
      // Answered before the body's end (refused, too large, too many problems): the rest is discarded, not parsed,
      // and the connection is not reused.
      if (!req.complete && !req.destroyed) {
        if (!res.headersSent) res.setHeader('Connection', 'close');
        req.resume();
      }
    }
  });
  return r;

  async function handleSync(req: Request, res: Response): Promise<void> {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    const parsed = syncOptions(req.headers, indexers);
    const body = syncBody(req, maxBodyBytes);
    if (!parsed.ok || !body.ok) throw new ApiError([...(parsed.ok ? [] : parsed.problems), ...(body.ok ? [] : [body.problem])]);
    const { options } = parsed;
    let answer;
    try {
      answer = await sync.sync({ body: body.bytes, format: body.format, options, privileges: req.principal?.privileges ?? [], requestId: req.id });
    } catch (e) {
      metrics.sync(undefined, seconds(), 'error');
      if (!clientGone(req, e)) throw e;
      req.log.info('client disconnected during the sync; rolled back, nothing written');
      return;
    }
    res.locals.records = answer.records;
    if (!answer.ok) {
      metrics.sync(undefined, seconds(), 'error');
      throw new ApiError(answer.problems);
    }
    const { result, errors, indexing } = answer;
    metrics.sync(result, seconds(), !options.failOnError && errors.length ? 'partial' : 'ok');
    res.setHeader('x-indexing', indexing);
    if (options.minimal) res.setHeader('Preference-Applied', 'return=minimal');
    if (options.failOnError) {
      res.json(result);
      return;
    }
    // Partial success is still 200, but never mistakable for a full one: the header counts what was rolled back.
    res.setHeader('x-sync-errors', String(errors.length));
    res.json({ ...result.toJSON(), errors: errors.map(toJsonApi) });
  }
}

export function metricsRoute(metrics: Metrics): Router {
  const r = Router();
  r.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return r;
}
