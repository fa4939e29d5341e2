import type { Server } from 'node:http';
import { createApp } from './app';
import { ConfigError, loadConfig } from './config';
import { openDatabase, type Database } from './db/database';
import { EmbeddedPostgresError } from './db/embedded';
import { SchemaMismatchError } from './db/schema-check';
import { DefinitionError } from './definitions/loader';
import { loadRegistry } from './definitions/registry';
import { createLogger } from './logger';

/** Errors that explain themselves: printed as they are, without a stack trace. */
const EXPLAINED = [ConfigError, DefinitionError, SchemaMismatchError, EmbeddedPostgresError];

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  const registry = loadRegistry(config.SCHEMAS_DIR);
  const db: Database = await openDatabase(config, registry, logger);
  const app = createApp({ config, knex: db.knex, registry, logger });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.PORT, config.HOST, () => resolve(s));
    s.on('error', reject);
  });
  logger.info('bulksync listening', { host: config.HOST, port: config.PORT, embeddedDatabase: db.embedded, entities: registry.names().length });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    // Stop accepting, let in-flight requests finish (bounded), then close the pool and the embedded server.
    const deadline = setTimeout(() => server.closeAllConnections(), 25_000);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    clearTimeout(deadline);
    await db.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((e: unknown) => {
  if (EXPLAINED.some((c) => e instanceof c)) {
    process.stderr.write(`bulksync: ${(e as Error).message}\n`);
  } else {
    process.stderr.write(`bulksync: failed to start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  }
  process.exit(1);
});
