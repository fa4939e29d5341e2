import { parseCrontab, type ParsedCronItem, type TaskList } from 'graphile-worker';
import type { Knex } from 'knex';
import { Integrations } from '../auth/integrations';
import type { Registry } from '../definitions/registry';
import type { JobObserver } from '../observability/observers';
import type { IndexerSet } from '../indexing/registry';
import type { Logger } from '../observability/logger';
import { SyncService, type SyncLimits } from '../sync/service';
import { SYNC_JOB_TASK } from '../write/sync-jobs';
import { PRUNE_CRONTAB, PRUNE_TASK, pruneTask } from './prune';
import { syncJobTask } from './run-job';

export interface JobTasksDeps {
  knex: Knex;
  registry: Registry;
  indexers: IndexerSet;
  limits: SyncLimits;
  logger: Logger;
  observer?: JobObserver;
}

/** What the queue's workers run for imports: the sync job task, and the pruner on the queue's cron. */
export function importTasks(deps: JobTasksDeps): { taskList: TaskList; cron: ParsedCronItem[] } {
  const { knex, logger } = deps;
  const service = new SyncService({
    knex,
    registry: deps.registry,
    indexers: deps.indexers,
    limits: deps.limits,
    onRetry: (attempt, error) => {
      logger.warn('sync job transaction retried', { component: 'sync-jobs', attempt, pgCode: (error as { code?: string }).code });
    },
    onWritePath: (path) => deps.observer?.writePath?.(path),
  });
  return {
    taskList: {
      [SYNC_JOB_TASK]: syncJobTask({ knex, service, indexers: deps.indexers, integrations: new Integrations(knex), logger, observer: deps.observer }),
      [PRUNE_TASK]: pruneTask(knex, logger),
    },
    cron: parseCrontab(PRUNE_CRONTAB),
  };
}
