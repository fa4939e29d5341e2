import path from 'node:path';
import type { Express } from 'express';
import type { Knex } from 'knex';
import { createApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { StatementCounter } from '../../src/db/connection';
import { openDatabase } from '../../src/db/database';
import { loadRegistry, type Registry } from '../../src/definitions/registry';
import { createLogger, type Logger } from '../../src/logger';
import { createTestDatabase } from './database';

export const ROOT = path.resolve(__dirname, '../..');

export interface TestApp {
  app: Express;
  knex: Knex;
  registry: Registry;
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
  const registry = loadRegistry(config.SCHEMAS_DIR);
  const counter = new StatementCounter();
  const db = await openDatabase(config, registry, logger, counter);
  const app = createApp({ config, knex: db.knex, registry, logger });
  return {
    app,
    knex: db.knex,
    registry,
    counter,
    config,
    logger,
    close: async () => {
      await db.close();
      await database.drop();
    },
  };
}
