import { Router } from 'express';
import type { Knex } from 'knex';
import { ping } from '../db/connection';
import type { SyncService } from '../sync/service';
import { toJsonApi } from '../errors';
import { jsonBody } from './json-body';

export function healthRoutes(knex: Knex): Router {
  const r = Router();
  r.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/ready', async (_req, res) => {
    const ok = await ping(knex);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'database unavailable' });
  });
  return r;
}

export function syncRoutes(sync: SyncService, maxBodyBytes: number): Router {
  const r = Router();
  r.post('/api/_action/sync', jsonBody(maxBodyBytes), async (req, res) => {
    const { result, errors, records, partial, indexing } = await sync.sync(req.body, req.headers);
    res.locals.records = records;
    res.setHeader('x-indexing', indexing);
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
