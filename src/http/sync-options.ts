import type { NextFunction, Request, Response } from 'express';
import type { SyncRunOptions } from '../sync/service';
import { keyHooks } from './idempotency';
import { syncAnswer } from './sync-answer';
import { parseDryRun, parseIdempotencyKey } from './sync-headers';

/**
 * In front of POST /api/_action/sync: the headers of docs/imports.md are checked before any body is read, and a dry
 * run says so on every answer it gets (errors included).
 */
export function syncPreflight(req: Request, res: Response, next: NextFunction): void {
  parseIdempotencyKey(req.headers);
  if (parseDryRun(req.headers)) res.setHeader('x-dry-run', 'true');
  next();
}

/** What the sync route hands the service beyond the body and headers: the dry run and the idempotency key's hooks. */
export function syncRunOptions(req: Request, res: Response, idempotencyTtlHours: number): SyncRunOptions {
  const key = keyHooks(res, idempotencyTtlHours);
  return {
    dryRun: parseDryRun(req.headers),
    onBegin: key?.onBegin,
    beforeCommit: key && ((sql, outcome) => key.store(sql, syncAnswer(outcome))),
  };
}
