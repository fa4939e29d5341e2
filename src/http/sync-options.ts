import type { NextFunction, Request, Response } from 'express';
import type { Sql } from '../db/sql';
import { ApiError } from '../errors';
import type { IndexerSet } from '../indexing/registry';
import { parseSyncHeaders, type SyncHeaderOptions } from '../sync/options';
import type { SyncOutcome } from '../sync/service';
import { keyHooks } from './idempotency';
import { syncAnswer } from '../sync/answer';

declare module 'express-serve-static-core' {
  interface Locals {
    /** The sync request's headers, parsed once in front of the route (the table of src/sync/options.ts). */
    syncHeaders?: SyncHeaderOptions;
  }
}

/**
 * In front of POST /api/_action/sync: every header the table names is checked before any body is read (the
 * synchronous route, an Idempotency-Key and a job submission all see the same parsed options), and a dry run says so
 * on every answer it gets (errors included).
 */
export function syncPreflight(indexers: IndexerSet) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const parsed = parseSyncHeaders(req.headers, indexers);
    if (!parsed.ok) throw new ApiError(parsed.problems);
    if (parsed.value.dryRun) res.setHeader('x-dry-run', 'true');
    res.locals.syncHeaders = parsed.value;
    next();
  };
}

/** The options the preflight parsed (parsed here when the route is mounted without it). */
export function syncHeadersOf(req: Request, res: Response, indexers: IndexerSet): SyncHeaderOptions {
  if (res.locals.syncHeaders) return res.locals.syncHeaders;
  const parsed = parseSyncHeaders(req.headers, indexers);
  if (!parsed.ok) throw new ApiError(parsed.problems);
  return parsed.value;
}

/** What the sync route hands the service beyond the body and options: the dry run and the idempotency key's hooks. */
export interface SyncRunOptions {
  dryRun: boolean;
  onBegin?: (sql: Sql) => Promise<void>;
  beforeCommit?: (sql: Sql, outcome: SyncOutcome) => Promise<void>;
}

export function syncRunOptions(res: Response, headers: SyncHeaderOptions, idempotencyTtlHours: number): SyncRunOptions {
  const key = keyHooks(res, idempotencyTtlHours);
  return {
    dryRun: headers.dryRun,
    onBegin: key?.onBegin,
    beforeCommit: key && ((sql, outcome) => key.store(sql, syncAnswer(outcome))),
  };
}
