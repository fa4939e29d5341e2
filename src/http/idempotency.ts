import { createHash, type Hash } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Knex } from 'knex';
import { withConnection, withTransaction, type Sql } from '../db/sql';
import { ApiError, bodyTooLarge } from '../errors';
import { findKey, lockKey, storeKey, tryLockKey, type KeyScope, type StoredAnswer, type StoredKey } from '../write/idempotency-keys';
import type { Metrics } from '../observability/metrics';
import type { Answer } from '../sync/answer';
import { problemAnswer } from './sync-answer';
import { fingerprintedHeaders } from '../sync/options';

/**
 * Hashes the body's bytes as whoever reads the request consumes them (the JSON parser, the job's store, a drain):
 * every reading path of a Readable (pipe, 'data' listeners, read(), async iteration) emits 'data', so the tap sits on
 * the request's emit and never reads, buffers or changes the flow itself.
 */
export class BodyTap {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;
  complete = false;
  private digestValue?: string;

  constructor(req: Request) {
    const emit = req.emit.bind(req);
    req.emit = ((event: string | symbol, ...args: unknown[]) => {
      if (event === 'data' && !this.complete) {
        const chunk = args[0] as Buffer | string;
        this.bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
        this.hash.update(chunk);
      } else if (event === 'end' && !this.complete) {
        this.complete = true;
        this.digestValue = this.hash.digest('hex');
      }
      return emit(event, ...args);
    }) as Request['emit'];
  }

  /** The body's SHA-256, once it was read to its end. */
  digest(): string | undefined {
    return this.digestValue;
  }
}

/**
 * What makes two requests "the same request": method, path, the body's bytes, and the headers the table of
 * src/sync/options.ts marks as fingerprinted.
 */
export function fingerprint(req: Request, bodyDigest: string): string {
  // The body as sent: a compressed body is hashed compressed, so its encoding counts too. It keeps its own place in
  // the hashed list (where it stood before the table), so keys stored by an earlier version still match.
  const { 'content-encoding': sentEncoding, ...headers } = fingerprintedHeaders(req.headers);
  const encoding = sentEncoding?.toLowerCase() ?? 'identity';
  // originalUrl: req.path is cut short inside a mounted middleware (the error path below).
  const path = req.originalUrl.split('?')[0];
  return createHash('sha256').update(JSON.stringify([req.method, path, bodyDigest, encoding, headers])).digest('hex');
}

/** An idempotency key being used by this request (res.locals.idempotency). */
export interface KeyInUse {
  scope: KeyScope;
  tap: BodyTap;
}

declare module 'express-serve-static-core' {
  interface Locals {
    idempotency?: KeyInUse;
  }
}

/** Found in the request's transaction: the first request with this key finished meanwhile. */
export class KeyTaken extends Error {
  constructor(readonly stored: StoredKey) {
    super('idempotency key taken');
  }
}

function inFlight(): ApiError {
  return new ApiError({
    code: 'IDEMPOTENCY_IN_FLIGHT',
    detail: 'a request with this Idempotency-Key is still running; send it again after it finished to get its answer',
    meta: { header: 'Idempotency-Key' },
  });
}

export interface IdempotencyDeps {
  knex: Knex;
  ttlHours: number;
  maxBodyBytes: number;
  metrics: Metrics;
}

/** Reads the rest of the body (through the tap) without keeping it; over the limit is 413, as it would be parsed. */
async function drain(req: Request, tap: BodyTap, maxBytes: number): Promise<void> {
  if (tap.complete || req.readableEnded) return;
  for await (const _chunk of req) {
    if (tap.bytes > maxBytes) {
      req.unpipe();
      throw new ApiError(bodyTooLarge(maxBytes));
    }
  }
}

/** The stored answer again (same request), or 422 (another request with the key). */
async function replay(res: Response, use: KeyInUse, stored: StoredKey, deps: IdempotencyDeps): Promise<void> {
  const req = res.req;
  await drain(req, use.tap, deps.maxBodyBytes);
  if (fingerprint(req, use.tap.digest()!) !== stored.fingerprint) {
    throw new ApiError({
      code: 'IDEMPOTENCY_KEY_REUSED',
      detail: 'this Idempotency-Key was used for another request (method, path, body or meaningful headers differ); use a new key for a new request',
      meta: { header: 'Idempotency-Key' },
    });
  }
  deps.metrics.idempotentReplay();
  res.status(stored.status);
  for (const [name, value] of Object.entries(stored.headers)) res.setHeader(name, value);
  res.setHeader('Idempotent-Replayed', 'true');
  res.send(stored.body);
}

/**
 * Idempotency-Key on POST /api/_action/sync (Stripe's semantics, docs/sync-jobs.md). In front of the sync route and
 * the job submission: a key with a stored answer replays it (or is refused for another request); a key whose first
 * request is running is 409; otherwise the request goes on with the key in res.locals, and `keyHooks` ties the
 * answer to its transaction. A dry run neither reads nor stores keys (a key is only checked for its syntax).
 */
export function idempotency(deps: IdempotencyDeps) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const { idempotencyKey: key, dryRun } = res.locals.syncHeaders ?? {};
    if (key === undefined || dryRun || !req.principal) {
      next();
      return;
    }
    const use: KeyInUse = { scope: { integrationId: req.principal.id, key }, tap: new BodyTap(req) };
    const stored = await withConnection(deps.knex, (sql) => findKey(sql, use.scope));
    if (stored) {
      await replay(res, use, stored, deps);
      return;
    }
    // The first request holds the key's lock only inside its transaction; this early probe spares a duplicate the
    // reading and planning of its body when the first is already writing. The transaction's own check decides.
    const free = await withTransaction(deps.knex, (sql) => tryLockKey(sql, use.scope), { retries: 0 });
    if (!free) throw inFlight();
    res.locals.idempotency = use;
    next();
  };
}

/** The stored form of an answer: its JSON's bytes and the content type it is sent with. */
function stored(answer: Answer): StoredAnswer {
  return {
    status: answer.status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...answer.headers },
    body: Buffer.from(JSON.stringify(answer.body)),
  };
}

export interface KeyHooks {
  /** First in the request's transaction: holds the key until commit; 409 or KeyTaken when it is not free. */
  onBegin(sql: Sql): Promise<void>;
  /** Last in the request's transaction: the answer, committed with the writes. */
  store(sql: Sql, answer: Answer): Promise<void>;
}

/** The transaction's part of the key this request uses, if any. */
export function keyHooks(res: Response, ttlHours: number): KeyHooks | undefined {
  const use = res.locals.idempotency;
  if (!use) return undefined;
  const req = res.req;
  return {
    async onBegin(sql) {
      if (!(await tryLockKey(sql, use.scope))) throw inFlight();
      const found = await findKey(sql, use.scope);
      if (found) throw new KeyTaken(found);
    },
    async store(sql, answer) {
      const digest = use.tap.digest();
      if (digest) await storeKey(sql, { scope: use.scope, fingerprint: fingerprint(req, digest), answer: stored(answer), ttlHours });
    },
  };
}

/**
 * Stored too: an error answer (4xx) of a request whose body was read whole; it was rolled back, so it is stored after
 * the rollback, under the key's lock. Not stored: 5xx (the retry runs again), 429, and the key's own refusals.
 */
function storable(err: ApiError): boolean {
  return err.status < 500 && err.status !== 429 && !err.problems.some((p) => p.code === 'IDEMPOTENCY_IN_FLIGHT' || p.code === 'IDEMPOTENCY_KEY_REUSED');
}

/** After the sync route and the job submission, before the error handler: the key's part of a failed request. */
export function idempotencyErrors(deps: IdempotencyDeps) {
  return async (err: unknown, req: Request, res: Response, next: NextFunction) => {
    const use = res.locals.idempotency;
    if (!use || res.headersSent) {
      next(err);
      return;
    }
    try {
      if (err instanceof KeyTaken) {
        await replay(res, use, err.stored, deps);
        return;
      }
      const digest = use.tap.digest();
      if (err instanceof ApiError && storable(err) && digest) {
        const answer = stored(problemAnswer(err.status, err.problems));
        await withTransaction(
          deps.knex,
          async (sql) => {
            // Waits for a retry that took the key meanwhile; whichever stores first is the key's answer.
            await lockKey(sql, use.scope);
            await storeKey(sql, { scope: use.scope, fingerprint: fingerprint(req, digest), answer, ttlHours: deps.ttlHours });
          },
          { retries: 2 },
        );
      }
      next(err);
    } catch (e) {
      next(e);
    }
  };
}
