import type { IncomingHttpHeaders } from 'node:http';
import { showValue, type Problem } from '../errors';
import { parseIndexingHeaders } from '../indexing/behavior';
import type { IndexerSet } from '../indexing/registry';
import type { Sql } from '../db/sql';
import { LANGUAGE_HEADER } from '../definitions/translations';
import type { ExecutionOptions } from '../sync/executor';
import type { SyncOutcome } from '../sync/service';
import type { NextFunction, Request, Response } from 'express';
import { keyHooks } from './idempotency';
import { syncAnswer } from './sync-answer';
import { parseDryRun, parseIdempotencyKey, preferences } from './sync-headers';

/** A boolean header: true/1, false/0 (any case), or absent (the default). */
function flag(headers: IncomingHttpHeaders, name: string, fallback: boolean, problems: Problem[]): boolean {
  const raw = headers[name];
  if (raw === undefined) return fallback;
  const v = String(raw).trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  problems.push({ code: 'HEADER_INVALID', detail: `${name} must be "true" or "false", got ${showValue(raw)}`, pointer: '' });
  return fallback;
}

/** The sync request's headers → the core's typed options, or HEADER_INVALID problems. */
export function syncOptions(headers: IncomingHttpHeaders, indexers: IndexerSet): { ok: true; options: ExecutionOptions } | { ok: false; problems: Problem[] } {
  const problems: Problem[] = [];
  const failOnError = flag(headers, 'fail-on-error', true, problems);
  const indexing = parseIndexingHeaders(headers, indexers);
  if (!indexing.ok) problems.push(...indexing.problems);
  // Shopware's switch for its flows: here it means "emit no events (webhooks) for this request". Lenient, as before:
  // anything but 1/true leaves events on.
  const skip = headers['sw-skip-trigger-flow'];
  const skipEvents = skip !== undefined && ['1', 'true'].includes(String(skip).trim().toLowerCase());
  const minimal = preferences(headers).has('return=minimal');
  if (problems.length || !indexing.ok) return { ok: false, problems };
  const language = headers[LANGUAGE_HEADER];
  return { ok: true, options: { failOnError, indexing: indexing.value, skipEvents, minimal, language: Array.isArray(language) ? language[0] : language } };
}

/**
 * In front of POST /api/_action/sync: the headers of docs/imports.md are checked before any body is read, and a dry
 * run says so on every answer it gets (errors included).
 */
export function syncPreflight(req: Request, res: Response, next: NextFunction): void {
  parseIdempotencyKey(req.headers);
  if (parseDryRun(req.headers)) res.setHeader('x-dry-run', 'true');
  next();
}

/** What the sync route hands the service beyond the body and options: the dry run and the idempotency key's hooks. */
export interface SyncRunOptions {
  dryRun: boolean;
  onBegin?: (sql: Sql) => Promise<void>;
  beforeCommit?: (sql: Sql, outcome: SyncOutcome) => Promise<void>;
}

export function syncRunOptions(req: Request, res: Response, idempotencyTtlHours: number): SyncRunOptions {
  const key = keyHooks(res, idempotencyTtlHours);
  return {
    dryRun: parseDryRun(req.headers),
    onBegin: key?.onBegin,
    beforeCommit: key && ((sql, outcome) => key.store(sql, syncAnswer(outcome))),
  };
}
