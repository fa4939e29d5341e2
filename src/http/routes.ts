import { Router } from 'express';
import type { Knex } from 'knex';
import { ping } from '../db/connection';
import type { SyncService } from '../sync/service';
import { toJsonApi } from '../errors';
import { jsonBody } from './json-body';
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

export function syncRoutes(sync: SyncService, maxBodyBytes: number, metrics: Metrics): Router {
  const r = Router();
  r.post('/api/_action/sync', jsonBody(maxBodyBytes), async (req, res) => {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    // The request lets go of its body: the service frees it once planned.
    const input = { body: req.body as unknown, requestId: req.id };
    req.body = undefined;
    const outcome = await sync.sync(input, req.headers, req.principal?.privileges ?? []).catch((e: unknown) => {
      metrics.sync(undefined, seconds(), 'error');
      throw e;
    });
    const { result, errors, records, partial, indexing } = outcome;
    metrics.sync(result, seconds(), partial && errors.length ? 'partial' : 'ok');
    res.locals.records = records;
    res.setHeader('x-indexing', indexing);
    if (outcome.indexingSkipIgnored.length) res.setHeader('x-indexing-skip-ignored', outcome.indexingSkipIgnored.join(', '));
    if (!partial) {
      res.json(result);
      return;
    }
    // Partial success is still 200, but never mistakable for a full one: the header counts what was rolled back.
    res.setHeader('x-sync-errors', String(errors.length));
    res.json({ ...result.toJSON(), errors: errors.map(toJsonApi) });
  });
  return r;
}

export function metricsRoute(metrics: Metrics): Router {
  const r = Router();
  r.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return r;
}
