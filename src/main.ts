import type { Server } from 'node:http';
import { listen } from './http/listen';
import { createApp } from './app';
import { boot, startQueueWorker } from './boot';
import { ConfigError, loadConfig } from './config';
import { EmbeddedPostgresError } from './db/embedded-error';
import { createMetrics } from './http/metrics-sources';
import { SchemaMismatchError } from './definitions/sql/schema-check';
import { DefinitionError } from './definitions/loader';
import type { QueueWorker } from './queue/runner';
import { createLogger } from './observability/logger';
import { startTracing } from './observability/tracing';

/** Errors that explain themselves: printed as they are, without a stack trace. */
const EXPLAINED = [ConfigError, DefinitionError, SchemaMismatchError, EmbeddedPostgresError];

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  // Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (then before the first request, so that every request has a span).
  const tracing = startTracing({ endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: config.OTEL_SERVICE_NAME });
  const core = await boot(config, logger);
  // One set of metrics for the process: the in-process worker reports its jobs to the app's /metrics.
  const metrics = createMetrics(core.db.knex, core.indexers.names());
  const app = createApp({ config, knex: core.db.knex, replica: core.db.replica, registry: core.registry, indexers: core.indexers, logger, tokenSecret: core.tokenSecret, metrics });
  const server: Server = await listen(app, { port: config.PORT, host: config.HOST, requestTimeoutSeconds: config.HTTP_REQUEST_TIMEOUT_SECONDS });
  // The single-command start also works the indexing queue, unless WORKER=off (then run `npm run worker`).
  const worker: QueueWorker | undefined = config.WORKER === 'on' ? await startQueueWorker(core, config, logger, metrics) : undefined;
  logger.info('bulksync listening', {
    host: config.HOST,
    port: config.PORT,
    embeddedDatabase: core.db.embedded,
    readReplica: Boolean(core.db.replica),
    entities: core.registry.names().length,
    worker: config.WORKER,
    tracing: Boolean(config.OTEL_EXPORTER_OTLP_ENDPOINT),
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    // Stop accepting, let in-flight requests finish (bounded), release queue jobs, then close the pool and the
    // embedded server.
    const deadline = setTimeout(() => server.closeAllConnections(), 25_000);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    clearTimeout(deadline);
    await worker?.stop().catch((e: unknown) => logger.error('worker stop failed', { error: (e as Error).message }));
    await core.db.close();
    // The last spans are exported before the process goes.
    await tracing.shutdown().catch((e: unknown) => logger.warn('traces not flushed', { error: (e as Error).message }));
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
