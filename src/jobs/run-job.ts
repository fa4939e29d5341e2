import type { JobHelpers, Task } from 'graphile-worker';
import type { Knex } from 'knex';
import type { Integrations } from '../auth/integrations';
import { cancelTransaction, currentTransaction, type BackendTransaction } from '../db/backend';
import { withConnection } from '../db/sql';
import { problemsStatus, toJsonApi, type Problem } from '../errors';
import type { JobObserver, SyncJobOutcome } from '../observability/observers';
import { syncAnswer } from '../sync/answer';
import type { Logger } from '../observability/logger';
import type { IndexerSet } from '../indexing/registry';
import type { SyncAnswer, SyncOutcome, SyncService } from '../sync/service';
import { finishJob, findJob, reportProgress, requeueJob, startJob, stillRunning, type JobEnd } from '../write/sync-jobs';
import { JobCancelled, storedBody } from './body-stream';
import { runStoredRequest, storedOptions } from './service-input';

export interface JobRunnerDeps {
  knex: Knex;
  service: SyncService;
  /** To parse the stored headers as the route does. */
  indexers: IndexerSet;
  integrations: Integrations;
  logger: Logger;
  observer?: JobObserver;
}

/** Progress is written at most this often while a job runs (a chunk may take milliseconds). */
const PROGRESS_EVERY_MS = 500;

/** How often a running job looks for its cancel while its transaction writes. */
const CANCEL_POLL_MS = 1000;

/** A dry run processed its records and committed none. */
function succeeded(outcome: SyncOutcome, dryRun: boolean): JobEnd {
  const failedRecords = outcome.partial ? outcome.errors.length : 0;
  const processed = Math.max(outcome.records - failedRecords, 0);
  return { status: 'succeeded', records: outcome.records, processed, done: dryRun ? 0 : processed, result: syncAnswer(outcome).body, errors: outcome.partial ? outcome.errors.map(toJsonApi) : null };
}

function failed(problems: readonly Problem[], records: number): JobEnd {
  return { status: 'failed', records, done: 0, result: null, errors: problems.map(toJsonApi) };
}

/**
 * The queue task of an async sync job: the stored body and headers run as a normal sync, with the submitting
 * integration's privileges as they are now. The job's success is written in the sync's own transaction (after a
 * check that it was not cancelled meanwhile), so a crash at any point leaves the data and the job as they were and
 * the queue runs it again; a failure (the request's own errors) is written after the rollback. Transient failures
 * (database gone, conflicts every retry lost) put the job back in the queue until its attempts are spent.
 */
export function syncJobTask(deps: JobRunnerDeps): Task {
  const { knex, logger } = deps;
  return async (payload: unknown, helpers: JobHelpers) => {
    const { jobId } = payload as { jobId: string };
    const started = process.hrtime.bigint();
    const job = await withConnection(knex, (sql) => startJob(sql, jobId));
    if (!job) {
      logger.info('sync job not run', { component: 'sync-jobs', jobId, reason: 'cancelled, finished or pruned' });
      return;
    }
    const log = logger.child({ component: 'sync-jobs', jobId: job.id, requestId: job.requestId, integrationId: job.integrationId });
    log.info('sync job started', { attempt: job.attempts, bodyBytes: job.bodyBytes });
    let outcome: SyncJobOutcome = 'failed';
    let records = 0;
    // Cancel while the transaction writes: the job's own statement is cancelled (57014), so a long write does not
    // run on to its commit only to be rolled back there.
    let tx: BackendTransaction | undefined;
    let trailing: NodeJS.Timeout | undefined;
    let cancelSeen = false;
    const watch = setInterval(() => {
      if (!tx || cancelSeen) return;
      const running = tx;
      void withConnection(knex, async (sql) => {
        if ((await findJob(sql, jobId))?.status !== 'cancelled') return;
        cancelSeen = true;
        await cancelTransaction(sql, running);
      }).catch(() => undefined);
    }, CANCEL_POLL_MS);
    watch.unref();
    const end = async (e: JobEnd) => {
      const ended = await withConnection(knex, (sql) => finishJob(sql, jobId, e));
      return ended ? e.status : 'cancelled';
    };
    const cancelledMeanwhile = async () => (await withConnection(knex, (sql) => findJob(sql, jobId)).catch(() => undefined))?.status === 'cancelled';
    /** A transient failure (database gone, conflicts every retry lost): back in the queue until its attempts are spent. */
    const retryOrGiveUp = async (problems: Problem[] | undefined, error: unknown): Promise<SyncJobOutcome> => {
      if (helpers.job.attempts >= helpers.job.max_attempts) {
        log.error('sync job gave up', { error: (error as Error).message, attempts: helpers.job.attempts });
        return end(failed(problems ?? [{ code: 'INTERNAL', detail: `the job failed ${helpers.job.attempts} times; nothing was written; quote job id ${job.id} to the operator` }], records));
      }
      outcome = 'retry';
      await withConnection(knex, (sql) => requeueJob(sql, jobId)).catch(() => undefined);
      throw error;
    };
    try {
      const integration = await deps.integrations.byId(job.integrationId);
      let lastProgress = 0;
      let latest = { records: 0, done: 0 };
      const report = () => {
        clearTimeout(trailing);
        trailing = undefined;
        lastProgress = Date.now();
        const p = latest;
        // p.done: written in the job's transaction (processed); committed only at the end.
        void withConnection(knex, (sql) => reportProgress(sql, jobId, p.records, p.done)).catch((e: unknown) => log.warn('sync job progress not recorded', { error: (e as Error).message }));
      };
      const stillWanted = () => withConnection(knex, async (sql) => (await findJob(sql, jobId))?.status === 'running');
      const options = storedOptions(job.headers, job.contentType, deps.indexers);
      const dryRun = options.ok && Boolean(options.value.dryRun);
      const answer: SyncAnswer =
        !integration || integration.revokedAt
          ? { ok: false, records: 0, problems: [{ code: 'FORBIDDEN', detail: 'the integration that submitted this job was revoked before it ran; nothing was written', pointer: '' }] }
          : !options.ok
            ? { ok: false, records: 0, problems: options.problems }
            : await runStoredRequest(
              deps.service,
              { body: storedBody(knex, jobId, stillWanted), options: options.value, requestId: job.requestId ?? undefined, privileges: integration.privileges },
              {
                onBegin: async (sql) => {
                  tx = await currentTransaction(sql);
                },
                onProgress: (p) => {
                  records = p.records;
                  latest = p;
                  const wait = lastProgress + PROGRESS_EVERY_MS - Date.now();
                  // Throttled, but the last report is never lost: a chunk that then waits long (a lock) still shows.
                  if (wait > 0 && p.done < p.records) {
                    trailing ??= setTimeout(report, wait);
                    return;
                  }
                  report();
                },
                beforeCommit: async (sql, out) => {
                  if (!(await stillRunning(sql, jobId))) throw new JobCancelled();
                  await finishJob(sql, jobId, succeeded(out, false));
                },
              },
            );
      tx = undefined;
      if (answer.ok) {
        // A dry run commits nothing, its end included: written on its own.
        outcome = dryRun ? await end(succeeded(answer, true)) : 'succeeded';
        records = answer.records;
      } else if (await cancelledMeanwhile()) outcome = 'cancelled';
      else if (problemsStatus(answer.problems) < 500) outcome = await end(failed(answer.problems, records));
      else outcome = await retryOrGiveUp(answer.problems, new Error(answer.problems[0]?.detail ?? 'sync job failed'));
    } catch (e) {
      tx = undefined;
      if (e instanceof JobCancelled || (await cancelledMeanwhile())) outcome = 'cancelled';
      else outcome = await retryOrGiveUp(undefined, e);
    } finally {
      clearInterval(watch);
      clearTimeout(trailing);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      deps.observer?.syncJob?.(outcome, seconds);
      log.log(outcome === 'succeeded' || outcome === 'cancelled' ? 'info' : 'warn', 'sync job finished', {
        outcome,
        attempt: job.attempts,
        records,
        durationMs: Math.round(seconds * 1e6) / 1000,
      });
    }
  };
}
