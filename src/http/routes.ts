import { Router, type Request, type Response } from 'express';
import type { Knex } from 'knex';
import { ping } from '../db/connection';
import type { SyncService } from '../sync/service';
import { ApiError } from '../errors';
import type { IndexerSet } from '../indexing/registry';
import { syncBody } from './sync-body';
import { syncAnswer } from '../sync/answer';
import { sendAnswer } from './sync-answer';
import { syncHeadersOf, syncRunOptions, type SyncRunOptions } from './sync-options';
import { executionOptions } from '../sync/options';
import type { ExecutionOptions } from '../sync/commit/executor';
import type { BodyFormat } from '../sync/body/read';
import type { Metrics } from '../observability/metrics';
import { drainUnreadBody } from './early-answer';
import { PreviewSpool, wantsNdjson } from './preview-ndjson';

/**
 * /ready needs the primary and, when DATABASE_READ_URL is set, the replica too: without it GET and search fail, so
 * a process that cannot reach it should get no traffic.
 */
export function healthRoutes(knex: Knex, replica?: Knex): Router {
  const r = Router();
  r.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/ready', async (_req, res) => {
    const [primaryOk, replicaOk] = await Promise.all([ping(knex), replica ? ping(replica) : Promise.resolve(true)]);
    const status = !primaryOk ? 'database unavailable' : !replicaOk ? 'read replica unavailable' : 'ok';
    res.status(primaryOk && replicaOk ? 200 : 503).json({ status, ...(replica ? { replica: replicaOk ? 'ok' : 'unavailable' } : {}) });
  });
  return r;
}

export interface SyncRouteDeps {
  sync: SyncService;
  indexers: IndexerSet;
  maxBodyBytes: number;
  metrics: Metrics;
  idempotencyTtlHours: number;
}

/** The client closed the connection before its answer: the request is rolled back and nobody is left to answer. */
function clientGone(req: Request, e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  // Not req.destroyed: a request stream destroys itself once its body was read to the end.
  return req.readableAborted || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (e instanceof Error && e.message === 'aborted');
}

export function syncRoutes({ sync, indexers, maxBodyBytes, metrics, idempotencyTtlHours }: SyncRouteDeps): Router {
  const r = Router();
  r.post('/api/_action/sync', async (req, res) => {
    try {
      await handleSync(req, res);
    } catch (e) {
      // Refused before the body's end (a header, too many problems, a syntax error): the rest is discarded, not parsed.
      await drainUnreadBody(req, res, maxBodyBytes);
      throw e;
    }
  });
  return r;

  async function handleSync(req: Request, res: Response): Promise<void> {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    const headers = syncHeadersOf(req, res, indexers);
    const body = syncBody(req, { format: headers.format, encoding: headers.encoding, limitBytes: maxBodyBytes });
    if (!body.ok) throw new ApiError(body.problem);
    const run = syncRunOptions(res, headers, idempotencyTtlHours);
    const options = executionOptions(headers);
    const spool = options.preview && wantsNdjson(req) ? await PreviewSpool.open() : undefined;
    try {
      await answerSync(req, res, { body: body.bytes, format: body.format, options, run, spool, seconds });
    } finally {
      await spool?.remove();
    }
  }

  async function answerSync(req: Request, res: Response, { body, format, options, run, spool, seconds }: SyncRun): Promise<void> {
    let answer;
    try {
      answer = await sync.sync({
        body,
        format,
        options,
        previewSink: spool,
        privileges: req.principal?.privileges ?? [],
        requestId: req.id,
        onBegin: run.onBegin,
        beforeCommit: run.beforeCommit,
      });
    } catch (e) {
      metrics.sync(undefined, seconds(), 'error');
      if (!clientGone(req, e)) throw e;
      req.log.info('client disconnected during the sync; rolled back, nothing written');
      return;
    }
    res.locals.records = answer.records;
    if (!answer.ok) {
      metrics.sync(undefined, seconds(), 'error');
      throw new ApiError(answer.problems);
    }
    // A dry run wrote nothing: its records are not counted as written.
    metrics.sync(options.dryRun ? undefined : answer.result, seconds(), answer.partial && answer.errors.length ? 'partial' : 'ok');
    if (spool) await spool.send(res, syncAnswer(answer));
    else sendAnswer(res, syncAnswer(answer));
  }
}

/** One sync request, its headers parsed and its body checked. */
interface SyncRun {
  body: AsyncIterable<Buffer>;
  format: BodyFormat;
  options: ExecutionOptions;
  run: SyncRunOptions;
  /** An NDJSON preview's spool. */
  spool?: PreviewSpool;
  seconds: () => number;
}

export function metricsRoute(metrics: Metrics): Router {
  const r = Router();
  r.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return r;
}
