import type { Readable } from 'node:stream';
import type { Problem } from '../errors';
import type { IndexerSet } from '../indexing/registry';
import { executionOptions, parseSyncHeaders, type SyncHeaderOptions } from '../sync/options';
import type { SyncAnswer, SyncCall, SyncService } from '../sync/service';

export interface StoredRequest {
  body: Readable;
  /** The stored headers as the table of src/sync/options.ts parses them (sw-language-id included). */
  options: SyncHeaderOptions;
  requestId?: string;
  privileges: readonly string[];
}

/**
 * A job's stored headers (those the table marks as stored) and content type → the request's options, parsed by the
 * same table as the route's; a value that was valid at submission can still fail now (an indexer removed since).
 */
export function storedOptions(headers: Record<string, string>, contentType: string, indexers: IndexerSet): { ok: true; value: SyncHeaderOptions } | { ok: false; problems: Problem[] } {
  return parseSyncHeaders({ ...headers, 'content-type': contentType }, indexers);
}

/** What the runner adds to a stored request: its transaction's hooks and progress. */
export type StoredRunHooks = Pick<SyncCall, 'onBegin' | 'beforeCommit' | 'onProgress'>;

/**
 * The one place where a job's stored body meets the sync service: the stored bytes stream through the same pipeline
 * as a request's (never whole in memory), with its stored options. Problems come back as values, as from the service.
 */
export function runStoredRequest(service: SyncService, request: StoredRequest, hooks: StoredRunHooks): Promise<SyncAnswer> {
  return service.sync({
    body: request.body,
    format: request.options.format,
    options: executionOptions(request.options),
    privileges: request.privileges,
    requestId: request.requestId,
    ...hooks,
  });
}
