import path from 'node:path';
import { randomBytes } from 'node:crypto';
import express, { type Express } from 'express';
import request from 'supertest';
import type { Knex } from 'knex';
import { createApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { StatementCounter } from '../../src/db/connection';
import { boot, startQueueWorker } from '../../src/boot';
import type { Registry } from '../../src/definitions/registry';
import type { IndexerSet } from '../../src/indexing/registry';
import type { QueueWorker } from '../../src/queue/runner';
import { createMetrics } from '../../src/http/metrics-sources';
import { createLogger, type Logger } from '../../src/observability/logger';
import { createTestDatabase, withDatabase } from './database';

export const ROOT = path.resolve(__dirname, '../..');

export const ADMIN = { clientId: 'test-admin', secret: 'test-admin-secret' };

export interface TestApp {
  /** The app as the admin integration (`*:*`) calls it: its Bearer token is added when a request has none. */
  app: Express;
  /** The app itself: nothing added, for the tests of authentication. */
  bare: Express;
  /** The admin's access token. */
  token: string;
  knex: Knex;
  registry: Registry;
  indexers: IndexerSet;
  /** Connection string of the test database (for child processes). */
  url: string;
  /** Starts an in-process indexing worker, stopped by close(). */
  startWorker(): Promise<QueueWorker>;
  counter: StatementCounter;
  config: Config;
  logger: Logger;
  close(): Promise<void>;
}

export interface TestAppOptions {
  logger?: Logger;
  /**
   * Servers other than DATABASE_URL's (connection strings): the test database is made on `primary`, and with
   * `replica` (a streaming replica of it) the app reads there through DATABASE_READ_URL.
   */
  servers?: { primary: string; replica?: string };
  /** Runs on the fresh database before the app boots (and migrates it): e.g. an older schema holding data. */
  prepare?: (url: string) => Promise<void>;
}

/** The real app on a fresh database of its own, migrated and schema-checked exactly as at startup. */
export async function startTestApp(env: Record<string, string> = {}, opts: TestAppOptions = {}): Promise<TestApp> {
  // A copy of the migrated template, unless the test prepares an older schema itself.
  const database = await createTestDatabase(opts.servers?.primary, { migrated: !opts.prepare });
  if (opts.prepare) await opts.prepare(database.url);
  const replica = opts.servers?.replica;
  const config = loadConfig({
    SCHEMAS_DIR: path.join(ROOT, 'schemas'),
    MIGRATIONS_DIR: path.join(ROOT, 'migrations'),
    LOG_LEVEL: 'silent',
    BULKSYNC_ADMIN_CLIENT_ID: ADMIN.clientId,
    BULKSYNC_ADMIN_CLIENT_SECRET: ADMIN.secret,
    BULKSYNC_TOKEN_SECRET: randomBytes(32).toString('hex'),
    ...env,
    DATABASE_URL: database.url,
    ...(replica ? { DATABASE_READ_URL: withDatabase(replica, database.name) } : {}),
  });
  const logger = opts.logger ?? createLogger(config.LOG_LEVEL);
  const counter = new StatementCounter();
  const core = await boot(config, logger, counter);
  const { db, registry, indexers } = core;
  // One set of metrics for the app and the workers it starts, as in a process of the service.
  const metrics = createMetrics(db.knex, indexers.names());
  const bare = createApp({ config, knex: db.knex, replica: db.replica, registry, indexers, logger, tokenSecret: core.tokenSecret, metrics });
  // A real token from the real token route; `app` sends it on every request that brings no Authorization of its own.
  const res = await request(bare).post('/api/oauth/token').send({ grant_type: 'client_credentials', client_id: ADMIN.clientId, client_secret: ADMIN.secret });
  if (res.status !== 200) throw new Error(`test admin token refused: ${JSON.stringify(res.body)}`);
  const token: string = res.body.access_token;
  const app = express();
  app.use((req, _res, next) => {
    if (req.headers.authorization === undefined) req.headers.authorization = `Bearer ${token}`;
    next();
  });
  app.use(bare);
  const workers: QueueWorker[] = [];
  return {
    app,
    bare,
    token,
    knex: db.knex,
    registry,
    indexers,
    counter,
    config,
    logger,
    url: db.url,
    startWorker: async () => {
      const w = await startQueueWorker(core, config, logger, metrics);
      workers.push(w);
      return w;
    },
    close: async () => {
      for (const w of workers) await w.stop().catch(() => undefined);
      await db.close();
      await database.drop();
    },
  };
}
