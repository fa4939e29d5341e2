import { Router } from 'express';
import type { Knex } from 'knex';
import { ping } from '../db/connection';
import type { SyncService } from '../sync/service';
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
    const { result, records } = await sync.sync(req.body, req.headers);
    res.locals.records = records;
    res.json(result);
  });
  return r;
}
