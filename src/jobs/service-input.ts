import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import { ApiError } from '../errors';
import type { SyncOutcome, SyncRunOptions, SyncService } from '../sync/service';

export interface StoredRequest {
  body: Readable;
  contentType: string;
  headers: Record<string, string>;
  requestId?: string;
  privileges: readonly string[];
}

/**
 * The one place where a job's stored body meets the sync service. Today the service takes a parsed body, so the
 * stream is collected and parsed here (as the synchronous route's JSON parser does, with the same refusals); once
 * the service reads a byte stream with its content type, this becomes `service.sync({ body, contentType, … })`.
 */
export async function runStoredRequest(service: SyncService, request: StoredRequest, run: SyncRunOptions): Promise<SyncOutcome> {
  const parts: Buffer[] = [];
  for await (const chunk of request.body) parts.push(chunk as Buffer);
  const bytes = Buffer.concat(parts);
  parts.length = 0;
  if (!bytes.length) throw new ApiError({ code: 'BODY_NOT_JSON', detail: 'the body is empty', pointer: '' });
  if (!isUtf8(bytes)) throw new ApiError({ code: 'BODY_NOT_JSON', detail: 'the body is not valid UTF-8', pointer: '' });
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new ApiError({ code: 'BODY_NOT_JSON', detail: `the body is not valid JSON: ${(e as Error).message}`, pointer: '' });
  }
  return service.sync({ body, requestId: request.requestId }, { ...request.headers, 'content-type': request.contentType }, request.privileges, run);
}
