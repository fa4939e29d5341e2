import express from 'express';
import type { Knex } from 'knex';
import type { Config } from './config';
import type { Registry } from './definitions/registry';
import type { IndexerSet } from './indexing/registry';
import { errorHandler, sendProblems } from './http/errors';
import { requestContext } from './http/request-context';
import { readRoutes } from './http/read-routes';
import { indexingRoutes } from './http/indexing-routes';
import { healthRoutes, syncRoutes } from './http/routes';
import type { Logger } from './logger';
import { SyncService } from './sync/service';

export interface AppDeps {
  config: Pick<Config, 'SYNC_MAX_BODY_BYTES' | 'SYNC_MAX_RECORDS' | 'SYNC_MAX_RETRIES' | 'INDEXING_MAX_ATTEMPTS'>;
  knex: Knex;
  registry: Registry;
  indexers: IndexerSet;
  logger: Logger;
}

/** Builds the HTTP app from its parts; no globals, so tests build as many as they like. */
export function createApp({ config, knex, registry, indexers, logger }: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestContext(logger));
  const sync = new SyncService(
    knex,
    registry,
    indexers,
    { maxRecords: config.SYNC_MAX_RECORDS, retries: config.SYNC_MAX_RETRIES, indexingMaxAttempts: config.INDEXING_MAX_ATTEMPTS },
    (attempt, error) => logger.warn('sync transaction retried', { attempt, pgCode: (error as { code?: string }).code }),
  );
  app.use(healthRoutes(knex));
  app.use(syncRoutes(sync, config.SYNC_MAX_BODY_BYTES));
  app.use(indexingRoutes(knex, indexers, config.INDEXING_MAX_ATTEMPTS));
  app.use(readRoutes({ knex, registry, config, logger }));
  app.use((req, res) => {
    sendProblems(res, 404, [{ code: 'NOT_FOUND', detail: `no route ${req.method} ${req.path}` }]);
  });
  app.use(errorHandler);
  return app;
}
