import cors from 'cors';
import express from 'express';
import helmet from 'helmet';
import type { Knex } from 'knex';
import { Integrations } from './auth/integrations';
import { Tokens } from './auth/tokens';
import type { Config } from './config';
import type { Registry } from './definitions/registry';
import { PostgresRateLimitStore } from './db/rate-limit-store';
import { requireToken } from './http/auth';
import { errorHandler, sendProblems } from './http/errors';
import { indexingRoutes } from './http/indexing-routes';
import { createMetrics } from './http/metrics-sources';
import type { Metrics } from './observability/metrics';
import { openApiRoutes } from './http/openapi-routes';
import { perIntegrationLimit } from './http/rate-limit';
import { readRoutes } from './http/read-routes';
import { requestContext } from './http/request-context';
import { healthRoutes, metricsRoute, syncRoutes } from './http/routes';
import { idempotency, idempotencyErrors } from './http/idempotency';
import { submitSyncJob, syncJobRoutes } from './http/sync-jobs-routes';
import { syncPreflight } from './http/sync-options';
import { tokenRoute } from './http/token-route';
import type { IndexerSet } from './indexing/registry';
import type { Logger } from './observability/logger';
import { SyncService, syncLimitsOf } from './sync/service';

export interface AppDeps {
  config: Pick<
    Config,
    | 'SYNC_MAX_BODY_BYTES'
    | 'SYNC_MAX_RECORDS'
    | 'SYNC_CHUNK_RECORDS'
    | 'SYNC_RETRY_WINDOW_ROWS'
    | 'SYNC_CLEAR_MAX_RATIO'
    | 'SYNC_MAX_RETRIES'
    | 'INDEXING_MAX_ATTEMPTS'
    | 'TOKEN_TTL_SECONDS'
    | 'RATE_LIMIT_PER_MINUTE'
    | 'RATE_LIMIT_STORE'
    | 'TOKEN_FAILURES_PER_15_MINUTES'
    | 'CORS_ORIGINS'
    | 'CHANGES_RETENTION_DAYS'
    | 'OPENAPI_PUBLIC'
    | 'IDEMPOTENCY_TTL_HOURS'
    | 'SYNC_JOB_RETENTION_DAYS'
  >;
  knex: Knex;
  /** Pool of DATABASE_READ_URL: GET and search read there (see readRoutes); absent: they read `knex`. */
  replica?: Knex;
  registry: Registry;
  indexers: IndexerSet;
  logger: Logger;
  /** The key that signs access tokens. */
  tokenSecret: string;
  /** The process's metrics, when something else (an in-process worker) reports to them too; default: the app's own. */
  metrics?: Metrics;
}

/** Builds the HTTP app from its parts; no globals, so tests build as many as they like. */
export function createApp({ config, knex, replica, registry, indexers, logger, tokenSecret, metrics = createMetrics(knex, indexers.names()) }: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const tokens = new Tokens(tokenSecret, config.TOKEN_TTL_SECONDS);
  const integrations = new Integrations(knex);
  app.use(requestContext({ logger, router: () => app.router, onFinish: (r) => metrics.request(r) }));
  app.use(helmet());
  // CORS is off unless origins are configured: the API is for servers, not browsers.
  if (config.CORS_ORIGINS.length) app.use(cors({ origin: config.CORS_ORIGINS, exposedHeaders: ['x-request-id', 'x-indexing', 'x-sync-errors', 'x-dry-run', 'idempotent-replayed', 'location', 'preference-applied', 'retry-after'] }));
  const sync = new SyncService({
    knex,
    registry,
    indexers,
    limits: syncLimitsOf(config),
    onRetry: (attempt, error) => {
      const pgCode = (error as { code?: string }).code;
      metrics.retry(pgCode);
      logger.warn('sync transaction retried', { attempt, pgCode });
    },
    onWritePath: (path) => metrics.writePath(path),
  });
  app.use(healthRoutes(knex, replica));
  app.use(metricsRoute(metrics));
  const tokenStore = config.RATE_LIMIT_STORE === 'database' ? new PostgresRateLimitStore(knex, 'token:') : undefined;
  app.use(tokenRoute(tokens, integrations, config.TOKEN_FAILURES_PER_15_MINUTES, tokenStore));
  const docs = openApiRoutes({ registry, publicDocs: config.OPENAPI_PUBLIC });
  // OPENAPI_PUBLIC: the document and its viewer before the token check; otherwise behind it like any /api route.
  if (config.OPENAPI_PUBLIC) app.use(docs);
  const limitStore = config.RATE_LIMIT_STORE === 'database' ? new PostgresRateLimitStore(knex, 'api:') : undefined;
  app.use('/api', requireToken(tokens, integrations), perIntegrationLimit(config.RATE_LIMIT_PER_MINUTE, limitStore));
  if (!config.OPENAPI_PUBLIC) app.use(docs);
  // Imports (docs/sync-jobs.md): headers checked first, then the Idempotency-Key, then Prefer: respond-async takes the
  // request to the job queue; anything else goes on to the synchronous route.
  const keys = { knex, ttlHours: config.IDEMPOTENCY_TTL_HOURS, maxBodyBytes: config.SYNC_MAX_BODY_BYTES, metrics };
  const jobs = { knex, indexers, maxBodyBytes: config.SYNC_MAX_BODY_BYTES, retentionDays: config.SYNC_JOB_RETENTION_DAYS, idempotencyTtlHours: config.IDEMPOTENCY_TTL_HOURS };
  app.post('/api/_action/sync', syncPreflight(indexers), idempotency(keys), submitSyncJob(jobs));
  app.use(syncRoutes({ sync, indexers, maxBodyBytes: config.SYNC_MAX_BODY_BYTES, metrics, idempotencyTtlHours: config.IDEMPOTENCY_TTL_HOURS }));
  app.use('/api/_action/sync', idempotencyErrors(keys));
  app.use(syncJobRoutes(jobs));
  app.use(indexingRoutes(knex, indexers, config.INDEXING_MAX_ATTEMPTS));
  // Reads check <entity>:read of the integration themselves (entity, associations, feed entities).
  app.use(readRoutes({ knex, replica, registry, config, logger }));
  app.use((req, res) => {
    sendProblems(res, 404, [{ code: 'NOT_FOUND', detail: `no route ${req.method} ${req.path}` }]);
  });
  app.use(errorHandler);
  return app;
}
