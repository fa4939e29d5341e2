import type { Readable } from 'node:stream';
import { ApiError } from '../errors';
import { bodyFormat } from '../http/sync-body';
import { syncOptions, type SyncRunOptions } from '../http/sync-options';
import type { IndexerSet } from '../indexing/registry';
import type { SyncOutcome, SyncService } from '../sync/service';

export interface StoredRequest {
  body: Readable;
  contentType: string;
  headers: Record<string, string>;
  requestId?: string;
  privileges: readonly string[];
}

/**
 * The one place where a job's stored body meets the sync service: the stored bytes stream through the same pipeline
 * as a request's (never whole in memory), with the options its stored headers give, as the route would parse them
 * (a job replays an HTTP request; its headers are parsed by the HTTP edge's parser).
 */
export async function runStoredRequest(
  service: SyncService,
  indexers: IndexerSet,
  request: StoredRequest,
  run: Partial<SyncRunOptions> & { onProgress?: (p: { records: number; done: number }) => void },
): Promise<SyncOutcome> {
  const parsed = syncOptions({ ...request.headers, 'content-type': request.contentType }, indexers);
  if (!parsed.ok) throw new ApiError(parsed.problems);
  const format = bodyFormat(request.contentType);
  if (!format) throw new ApiError({ code: 'BODY_NOT_JSON', detail: `expected Content-Type application/json or application/x-ndjson, got "${request.contentType.slice(0, 80)}"`, pointer: '' });
  const answer = await service.sync({
    body: request.body,
    format,
    options: { ...parsed.options, dryRun: run.dryRun },
    privileges: request.privileges,
    requestId: request.requestId,
    onBegin: run.onBegin,
    beforeCommit: run.beforeCommit,
    onProgress: run.onProgress,
  });
  if (!answer.ok) throw new ApiError(answer.problems);
  return answer;
}
