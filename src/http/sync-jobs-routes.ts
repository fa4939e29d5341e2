import { Router, type Request, type Response, type NextFunction } from 'express';
import type { Knex } from 'knex';
import { PassThrough, type Readable } from 'node:stream';
import { withConnection, withTransaction, type Sql } from '../db/sql';
import { isId, newDbId, toApiId } from '../definitions/ids';
import { ApiError, bodyTooLarge, showValue } from '../errors';
import type { IndexerSet } from '../indexing/registry';
import { storedHeaders, type ContentEncoding } from '../sync/options';
import { cancelJob, findJob, insertChunk, insertJob, listJobs, queueJob, type SyncJob } from '../write/sync-jobs';
import { keyHooks } from './idempotency';
import type { Answer } from '../sync/answer';
import { sendAnswer } from './sync-answer';
import { inflater } from './sync-body';
import { syncHeadersOf } from './sync-options';

/** Rows of a stored body: large enough that a 1 GB body is about 1,000 rows, small enough to hold twice in memory. */
export const CHUNK_BYTES = 1024 * 1024;

const JOBS_PATH = '/api/_action/sync/jobs';
const DEFAULT_PAGE_LIMIT = 25;
const MAX_PAGE_LIMIT = 100;

export interface SyncJobsDeps {
  knex: Knex;
  indexers: IndexerSet;
  maxBodyBytes: number;
  retentionDays: number;
  idempotencyTtlHours: number;
}

/** The job as GET answers it. */
export function jobDocument(job: SyncJob) {
  return {
    id: job.id,
    status: job.status,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    // done: committed (kept under its first name); processed: written in the job's transaction, committed or not.
    progress: { records: job.records, processed: job.processed, committed: job.done, done: job.done },
    result: job.result ?? null,
    errors: job.errors ?? null,
  };
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(bodyTooLarge(maxBytes));
}

/** An integration that can neither upsert nor delete anything has no sync to run; the rest is checked when it runs. */
function canWrite(privileges: readonly string[]): boolean {
  return privileges.some((p) => {
    const [entity, action] = p.split(':');
    return entity !== 'indexing' && (action === '*' || action === 'upsert' || action === 'delete');
  });
}

/** The body as sent, decompressed (the limit counts decompressed bytes, as for a synchronous request). */
function decoded(req: Request, encoding: ContentEncoding): Readable {
  // A corrupt stream fails the reading loop (BODY_NOT_JSON); the listener keeps it from being an unhandled error.
  // Never the request itself: leaving a loop over it early would destroy its socket before the 413 is sent.
  const through = inflater(encoding)?.() ?? new PassThrough();
  through.on('error', () => undefined);
  return req.pipe(through);
}

/** Reads and drops the rest of a refused body, so that the client gets its answer instead of a broken pipe. */
function discard(req: Request): void {
  req.unpipe();
  req.resume();
}

/**
 * Streams the body into the job's chunk rows, in the submission's transaction; returns its size. Each chunk is
 * stored before the next piece is read, so the socket is paused while PostgreSQL writes and memory stays at about
 * two chunks whatever the body's size.
 */
async function storeBody(sql: Sql, { jobId, req, body, maxBytes }: { jobId: string; req: Request; body: Readable; maxBytes: number }): Promise<number> {
  let seq = 0;
  let total = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (!pendingBytes) return;
    const data = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    await insertChunk(sql, jobId, seq++, data);
  };
  try {
    for await (const piece of body) {
      const buf = piece as Buffer;
      total += buf.length;
      if (total > maxBytes) throw tooLarge(maxBytes);
      pending.push(buf);
      pendingBytes += buf.length;
      if (pendingBytes >= CHUNK_BYTES) await flush();
    }
  } catch (e) {
    discard(req);
    if (e instanceof ApiError) throw e;
    throw new ApiError({ code: 'BODY_NOT_JSON', detail: 'the body could not be read (corrupt compression or an incomplete upload)', pointer: '' });
  }
  await flush();
  if (!total) throw new ApiError({ code: 'BODY_NOT_JSON', detail: 'the body is empty', pointer: '' });
  return total;
}

/**
 * POST /api/_action/sync with `Prefer: respond-async`: the body goes to PostgreSQL in chunks as it arrives, and the
 * job is queued in the same transaction; the 202 is sent only once both committed. Any other request goes on to
 * the synchronous route.
 */
export function submitSyncJob(deps: SyncJobsDeps) {
  return async (req: Request, res: Response, next: NextFunction) => {
    // The headers were checked in front of this (content type, encoding, every header's value).
    const options = syncHeadersOf(req, res, deps.indexers);
    if (!options.respondAsync) {
      next();
      return;
    }
    const principal = req.principal!;
    if (!canWrite(principal.privileges)) {
      throw new ApiError({ code: 'FORBIDDEN', detail: 'the integration may neither upsert nor delete any entity', pointer: '' });
    }
    const declared = Number(req.get('content-length') ?? NaN);
    if (declared > deps.maxBodyBytes && !req.get('content-encoding')) throw tooLarge(deps.maxBodyBytes);
    if (declared === 0) throw new ApiError({ code: 'BODY_NOT_JSON', detail: 'the body is empty', pointer: '' });
    const id = newDbId();
    const key = keyHooks(res, deps.idempotencyTtlHours);
    // The content type has its own column.
    const { 'content-type': _type, ...headers } = storedHeaders(req.headers);
    let total = 0;
    const answer = await withTransaction(
      deps.knex,
      async (sql) => {
        await key?.onBegin(sql);
        await insertJob(sql, { id, integrationId: principal.id, requestId: req.id, headers, contentType: req.get('content-type')!, retentionDays: deps.retentionDays });
        // Read only once the key is held: a replay or a 409 above reads the body its own way (or not at all).
        total = await storeBody(sql, { jobId: id, req, body: decoded(req, options.encoding), maxBytes: deps.maxBodyBytes });
        await queueJob(sql, id, total);
        const accepted: Answer = {
          status: 202,
          headers: { location: `${JOBS_PATH}/${toApiId(id)}`, 'preference-applied': 'respond-async' },
          body: { id: toApiId(id), status: 'queued' },
        };
        await key?.store(sql, accepted);
        return accepted;
      },
      // Never re-run: the body was read by the first attempt.
      { retries: 0 },
    );
    req.log.info('sync job queued', { jobId: toApiId(id), bodyBytes: total });
    sendAnswer(res, answer);
  };
}

function notFound(id: string): ApiError {
  return new ApiError({ code: 'NOT_FOUND', detail: `no sync job ${showValue(id)} of this integration` });
}

function pageParam(req: Request, name: 'limit' | 'page', fallback: number, max: number): number {
  const raw = req.query[name];
  if (raw === undefined) return fallback;
  const n = typeof raw === 'string' && /^\d{1,6}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= max)) {
    throw new ApiError({ code: 'VALUE_INVALID', detail: `${name} must be an integer between 1 and ${max}, got ${showValue(raw)}`, meta: { parameter: name } });
  }
  return n;
}

/** GET (list, one) and DELETE (cancel) of the integration's own jobs; another integration's job is 404. */
export function syncJobRoutes(deps: SyncJobsDeps): Router {
  const r = Router();
  r.get(JOBS_PATH, async (req, res) => {
    const limit = pageParam(req, 'limit', DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT);
    const page = pageParam(req, 'page', 1, 1_000_000);
    const { jobs, total } = await withConnection(deps.knex, (sql) => listJobs(sql, req.principal!.id, limit, (page - 1) * limit));
    // The list leaves out results and errors (a job's result may be large): GET the job for them.
    res.json({ data: jobs.map((j) => ({ ...jobDocument(j), result: undefined, errors: undefined })), total, page, limit });
  });
  r.get(`${JOBS_PATH}/:id`, async (req, res) => {
    const id = req.params.id!;
    const job = isId(id) ? await withConnection(deps.knex, (sql) => findJob(sql, id, req.principal!.id)) : undefined;
    if (!job) throw notFound(id);
    res.json(jobDocument(job));
  });
  r.delete(`${JOBS_PATH}/:id`, async (req, res) => {
    const id = req.params.id!;
    if (!isId(id)) throw notFound(id);
    const { cancelled, job } = await withConnection(deps.knex, (sql) => cancelJob(sql, id, req.principal!.id));
    if (!job) throw notFound(id);
    if (!cancelled) {
      throw new ApiError({ code: 'JOB_FINISHED', detail: `the job already ended (${job.status}); only a queued or running job can be cancelled`, meta: { status: job.status } });
    }
    req.log.info('sync job cancelled', { jobId: job.id });
    res.json(jobDocument(job));
  });
  return r;
}
