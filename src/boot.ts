import { syncLimitsOf } from './sync/service';
import path from 'node:path';
import { Integrations } from './auth/integrations';
import { tokenSecret } from './auth/token-secret';
import type { Config } from './config';
import type { StatementCounter } from './db/connection';
import { openDatabase, type Database } from './db/database';
import { schemaCheck } from './definitions/sql/schema-check';
import { FieldCipher } from './definitions/field-cipher';
import { loadRegistry, type Registry } from './definitions/registry';
import { buildIndexers, type IndexerSet } from './indexing/registry';
import { indexingTasks } from './indexing/tasks';
import { webhookTasks } from './events/tasks';
import { migrateQueue, startQueue, type QueueWorker } from './queue/runner';
import type { JobObserver } from './observability/observers';
import { importTasks } from './jobs/tasks';
import type { Logger } from './observability/logger';

export interface Core {
  db: Database;
  registry: Registry;
  indexers: IndexerSet;
  /** Signs access tokens: BULKSYNC_TOKEN_SECRET, or generated once and kept next to the embedded database. */
  tokenSecret: string;
}

/**
 * What every process needs before it serves or works: the definitions, the database (migrated and checked against
 * them), the queue's schema and the indexers.
 */
export async function boot(config: Config, logger: Logger, counter?: StatementCounter): Promise<Core> {
  const registry = loadRegistry(config.SCHEMAS_DIR, {
    outbound: { allowHttp: config.WEBHOOK_ALLOW_HTTP, allowPrivateNetworks: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS },
  });
  const indexers = buildIndexers(registry);
  const db = await openDatabase(config, schemaCheck(registry), logger, counter);
  try {
    if (config.MIGRATE_ON_START) await migrateQueue(db.url);
    const integrations = new Integrations(db.knex);
    if (config.BULKSYNC_ADMIN_CLIENT_ID && config.BULKSYNC_ADMIN_CLIENT_SECRET) {
      await integrations.ensureAdmin(config.BULKSYNC_ADMIN_CLIENT_ID, config.BULKSYNC_ADMIN_CLIENT_SECRET);
    } else if (!(await integrations.list()).some((i) => !i.revokedAt)) {
      // Every /api route needs a token: without an integration nobody can call the service yet.
      logger.warn('no integration can get a token yet: set BULKSYNC_ADMIN_CLIENT_ID and BULKSYNC_ADMIN_CLIENT_SECRET, or run npm run integration -- create');
    }
  } catch (e) {
    await db.close();
    throw e;
  }
  const secretFile = path.join(path.dirname(path.resolve(config.EMBEDDED_PG_DIR)), 'token-secret');
  const secret = tokenSecret(config.BULKSYNC_TOKEN_SECRET, secretFile);
  registry.useFieldCipher(new FieldCipher(secret));
  return { db, registry, indexers, tokenSecret: secret };
}

/**
 * The process's queue worker with every room's tasks: indexing, webhook deliveries, async sync jobs and their
 * pruner (one queue, one set of workers).
 */
export function startQueueWorker(core: Core, config: Config, logger: Logger, observer?: JobObserver): Promise<QueueWorker> {
  const knex = core.db.knex;
  return startQueue({
    connectionString: core.db.url,
    knex,
    concurrency: config.WORKER_CONCURRENCY,
    logger,
    heartbeatSeconds: config.WORKER_HEARTBEAT_SECONDS,
    tasks: [
      indexingTasks({ knex, indexers: core.indexers, logger, maxAttempts: config.INDEXING_MAX_ATTEMPTS, observer }),
      webhookTasks({
        knex,
        logger,
        cipher: core.registry.fieldCipher(),
        config: {
          policy: { allowHttp: config.WEBHOOK_ALLOW_HTTP, allowPrivateNetworks: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS },
          timeoutSeconds: config.WEBHOOK_TIMEOUT_SECONDS,
          retryBaseSeconds: config.WEBHOOK_RETRY_BASE_SECONDS,
          retryHours: config.WEBHOOK_RETRY_HOURS,
          maxConsecutiveFailures: config.WEBHOOK_MAX_CONSECUTIVE_FAILURES,
        },
      }),
      importTasks({
        knex,
        registry: core.registry,
        indexers: core.indexers,
        limits: syncLimitsOf(config),
        logger,
        observer,
      }),
    ],
  });
}
