import { Router } from 'express';
import type { Knex } from 'knex';
import { ping } from '../db/connection';
import type { SyncService } from '../sync/service';
import { jsonBody } from './json-body';
import type { Metrics } from './metrics';
import { sendAnswer, syncAnswer } from './sync-answer';
import { syncRunOptions } from './sync-options';

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

export function syncRoutes(sync: SyncService, maxBodyBytes: number, metrics: Metrics, idempotencyTtlHours: number): Router {
  const r = Router();
  r.post('/api/_action/sync', jsonBody(maxBodyBytes), async (req, res) => {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    // The request lets go of its body: the service frees it once planned.
    const input = { body: req.body as unknown, requestId: req.id };
    req.body = undefined;
    const options = syncRunOptions(req, res, idempotencyTtlHours);
    const outcome = await sync.sync(input, req.headers, req.principal?.privileges ?? [], options).catch((e: unknown) => {
      metrics.sync(undefined, seconds(), 'error');
      throw e;
    });
    const { result, errors, records, partial } = outcome;
    // A dry run wrote nothing: its records are not counted as written.
    metrics.sync(options.dryRun ? undefined : result, seconds(), partial && errors.length ? 'partial' : 'ok');
    res.locals.records = records;
    sendAnswer(res, syncAnswer(outcome));
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
