import { Logger as GraphileLogger } from 'graphile-worker';
import type { Logger } from '../observability/logger';

/** The fields of graphile-worker's job that a log line may carry: never its payload (it may hold every id). */
interface JobLike {
  id?: unknown;
  task_identifier?: unknown;
  queue_name?: unknown;
  attempts?: unknown;
  max_attempts?: unknown;
  payload?: unknown;
}

/** What a job's payload says about itself without its data: the indexer(s) and how many ids it carries. */
function describePayload(payload: unknown): Record<string, unknown> {
  if (Array.isArray(payload)) {
    // Jobs of older versions: [{ indexer, ids }, …].
    const parts = payload.filter((p): p is { indexer?: unknown; ids?: unknown } => typeof p === 'object' && p !== null);
    return {
      indexer: [...new Set(parts.map((p) => String(p.indexer)))].join(','),
      records: parts.reduce((n, p) => n + (Array.isArray(p.ids) ? p.ids.length : 0), 0),
    };
  }
  if (typeof payload === 'object' && payload !== null && typeof (payload as { indexer?: unknown }).indexer === 'string') {
    return { indexer: (payload as { indexer: string }).indexer };
  }
  return {};
}

function describeJob(job: JobLike): Record<string, unknown> {
  return {
    jobId: job.id,
    task: job.task_identifier,
    queue: job.queue_name,
    attempt: job.attempts,
    maxAttempts: job.max_attempts,
    ...describePayload(job.payload),
  };
}

/**
 * graphile-worker's log lines through our logger (JSON, levels kept; its debug chatter stays at debug). Its meta is
 * reduced to names and numbers: the job object it passes carries the whole payload.
 */
export function graphileLogger(logger: Logger): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) => {
    const { job, error, duration, success, ...rest } = (meta ?? {}) as { job?: JobLike; error?: unknown; duration?: unknown; success?: unknown } & Record<string, unknown>;
    // A finished job has its own line from our worker ("indexing job finished", with the record count).
    const lvl = success === true ? 'debug' : level === 'error' ? 'error' : level === 'warning' ? 'warn' : level === 'info' ? 'info' : 'debug';
    logger.log(lvl, message, {
      component: 'queue',
      ...scope,
      ...rest,
      ...(job && typeof job === 'object' ? describeJob(job) : {}),
      ...(typeof duration === 'number' ? { durationMs: Math.round(duration * 1000) / 1000 } : {}),
      ...(error !== undefined ? { error: error instanceof Error ? error.message : String(error) } : {}),
    });
  });
}
