import { boot, startQueueWorker } from '../boot';
import { loadConfig } from '../config';
import { createLogger } from '../observability/logger';
import type { QueueWorker } from '../queue/runner';

/** `npm run worker`: a process that only works the indexing queue (scale it apart from the API). */
export async function workerCommand(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  const core = await boot(config, logger);
  // The signals are handled before the queue starts: a stop asked for while it starts (its own log line already
  // says "queue worker started") still ends the process cleanly.
  let worker: QueueWorker | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('worker shutting down', { signal });
    await worker?.stop();
    await core.db.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  const started = await startQueueWorker(core, config, logger);
  if (stopping) return void (await started.stop());
  worker = started;
  logger.info('worker started', { embeddedDatabase: core.db.embedded, concurrency: config.WORKER_CONCURRENCY });
}

if (require.main === module) {
  workerCommand().catch((e: unknown) => {
    process.stderr.write(`bulksync worker: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
