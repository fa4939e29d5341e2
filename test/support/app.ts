import path from 'node:path';
import type { Express } from 'express';
import type { Knex } from 'knex';
import { createApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { StatementCounter } from '../../src/db/connection';
import { boot, startIndexWorker } from '../../src/boot';
import type { Registry } from '../../src/definitions/registry';
import type { IndexerSet } from '../../src/indexing/registry';
import type { IndexWorker } from '../../src/indexing/worker';
import { createLogger, type Logger } from '../../src/logger';
import { createTestDatabase } from './database';

export const ROOT = path.resolve(__dirname, '../..');

export interface TestApp {
  app: Express;
  knex: Knex;
  registry: Registry;
  indexers: IndexerSet;
  /** Connection string of the test database (for child processes). */
  url: string;
  /** Starts an in-process indexing worker, stopped by close(). */
  startWorker(): Promise<IndexWorker>;
  counter: StatementCounter;
  config: Config;
  logger: Logger;
  close(): Promise<void>;
}

/** The real app on a fresh database of its own, migrated and schema-checked exactly as at startup. */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const config = loadConfig({
    SCHEMAS_DIR: path.join(ROOT, 'schemas'),
    MIGRATIONS_DIR: path.join(ROOT, 'migrations'),
    LOG_LEVEL: 'silent',
    ...env,
    DATABASE_URL: database.url,
  });
  const logger = createLogger(config.LOG_LEVEL);
  const counter = new StatementCounter();
  const core = await boot(config, logger, counter);
  const { db, registry, indexers } = core;
  const app = createApp({ config, knex: db.knex, registry, indexers, logger });
  const workers: IndexWorker[] = [];
  return {
    app,
    knex: db.knex,
    registry,
    indexers,
    counter,
    config,
    logger,
    url: db.url,
    startWorker: async () => {
      const w = await startIndexWorker(core, config, logger);
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
