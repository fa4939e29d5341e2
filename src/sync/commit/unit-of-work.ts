import type { Sql } from '../../db/sql';
import type { Registry } from '../../definitions/registry';
import type { Problem } from '../../errors';
import type { RequestEvents } from '../../events/emit';
import { applyIndexing, type IndexingRequest } from '../../indexing/behavior';
import type { IndexerSet } from '../../indexing/registry';
import { lockNames, type NamedLock } from '../../write/locks';
import { settleDeferredReferences } from './deferred-references';
import { indexerLocks } from './indexer-locks';
import { runOperation } from './operation';
import { runEndPartially, runRecordsPartially } from './partial';
import type { Preview } from './preview';
import { SyncResult } from '../result';
import type { OperationState, RequestState, WritePath } from './state';
import { settleUnchanged, touchOwners } from './unchanged';
import type { OperationPlan } from '../types';
import { withSpan } from '../../observability/tracing';

/**
 * The unit of work: what the request's transaction does with each chunk, and after the last one, in this order.
 *
 * A chunk of one operation (`runChunk`):
 *  1. lock        the indexer locks the chunk needs that the transaction does not hold yet (name order)
 *  2. deferred    at an operation's end: references to its records that waited for a later chunk, set or reported
 *  3. images      a preview's before-images of what the chunk touches
 *  4. write       upserts in foreign-key order, then the snapshot clear (`missing`) and deletes, each marking what
 *                 the indexers must recompute: fail on error, one statement per table (happy-path.ts), else command
 *                 by command with the lookups that name record and field (operation.ts); partial success, the same
 *                 per operation under a savepoint, failing records dropped (partial.ts)
 *  5. owners      a record whose translation rows or links changed gets a new version; unchanged ones are settled
 *  6. preview     after-images
 *  7. outbox      webhook deliveries of what changed, in the same transaction (a rolled-back write has none)
 *  8. result      merged into the request's answer
 * A problem that fails the request ends the chunk after phase 2 or 4: later chunks are still looked up, not written.
 *
 * The request, after its last chunk (`finishWork`):
 *  9. indexing    inline, queued or skipped, from the marks
 * 10. outbox      flushed
 * 11. idempotency the answer stored with the writes
 * 12. commit      by the caller (executor.ts), which also runs the whole again after a deadlock: retry wraps the unit
 *                 of work once, there; partial success wraps phase 4 once, in partial.ts.
 */

/** A planned chunk of one operation: records (`records`), or what runs after them (`end`: missing, criteria). */
export interface Chunk {
  plan: OperationPlan;
  kind: 'records' | 'end';
  /** Payload records of the chunk planning refused (partial success goes on without them). */
  failedRecords: number;
  /** Rows the chunk writes, for the retry window. */
  rows: number;
  /** The body line of a record (NDJSON), for `meta.line`. */
  lineOf?: (index: number) => number | undefined;
}

export type Phase = 'lock' | 'deferred' | 'images' | 'write' | 'owners' | 'preview' | 'outbox' | 'result';

/** What decides a chunk's phases. */
export interface ChunkFacts {
  kind: Chunk['kind'];
  /** No problem fails the request so far: the chunk writes (else it is only looked up, to report its problems). */
  writable: boolean;
  /** References of the operation wait for its end. */
  deferred: boolean;
  preview: boolean;
}

/** The phases a chunk runs, in order (see above). */
export function phasesOf(c: ChunkFacts): Phase[] {
  const phases: Phase[] = [];
  if (c.writable) phases.push('lock');
  if (c.kind === 'end' && c.deferred) phases.push('deferred');
  if (c.preview && c.writable) phases.push('images');
  phases.push('write', 'owners');
  if (c.preview && c.writable) phases.push('preview');
  phases.push('outbox', 'result');
  return phases;
}

/**
 * Whether the chunk ends after a phase: after the deferred references or the write, when the request fails (it did
 * before the chunk, or planning of a later chunk failed it meanwhile), or the phase found a problem under fail on
 * error.
 */
export function stopsAfter(phase: Phase, c: { failOnError: boolean; failing: boolean; problems: number }): boolean {
  if (phase !== 'deferred' && phase !== 'write') return false;
  return c.failing || (c.failOnError && c.problems > 0);
}

/** What a chunk runs against. */
export interface ChunkWork {
  sql: Sql;
  registry: Registry;
  indexers: IndexerSet;
  failOnError: boolean;
  indexing: IndexingRequest;
  known: RequestState;
  op: OperationState;
  /** Indexer locks the transaction holds (phase 1 adds to them). */
  held: Map<string, NamedLock['mode']>;
  /** Nothing failed the request when the chunk began: it writes (else only its lookups run, for their problems). */
  writable: boolean;
  /**
   * Whether the request fails by now: planning runs beside the chunk's write and may fail the request while it runs
   * (a chunk that would be rolled back stops, as it did when the executor checked between its phases).
   */
  failing: () => boolean;
  /** The chunk's savepoint was taken with BEGIN, nothing ran since. */
  savepointTaken: boolean;
  preview?: Preview;
  events: RequestEvents;
  /** Told how each run of the chunk's commands was written (the process's metrics). */
  onWritePath?: (path: WritePath) => void;
  /** The plan of the chunk after this one, when it is planned already (its first table may be encoded early). */
  upcoming?: () => OperationPlan | undefined;
}

export interface ChunkDone {
  /** In the order found: deferred references first, then the chunk's own (with their NDJSON lines). */
  problems: Problem[];
  /** What the chunk wrote (phase 8 hands it to the caller, which merges it), unless it stopped. */
  result?: SyncResult;
  /** A statement failed outside a savepoint: the transaction takes no more statements. */
  aborted?: boolean;
}

export async function runChunk(w: ChunkWork, chunk: Chunk): Promise<ChunkDone> {
  const { sql, registry, known, op, failOnError, writable, onWritePath, upcoming } = w;
  const problems: Problem[] = [];
  const result = new SyncResult();
  let savepointTaken = w.savepointTaken;
  let images: Awaited<ReturnType<Preview['before']>> | undefined;
  let aborted = false;
  for (const phase of phasesOf({ kind: chunk.kind, writable, deferred: op.deferred.length > 0, preview: Boolean(w.preview) })) {
    switch (phase) {
      case 'lock':
        // A savepoint taken before these locks would release them when the chunk goes back to it.
        if (await lockChunk(w, chunk)) savepointTaken = false;
        break;
      case 'deferred':
        problems.push(...(await settleDeferredReferences({ sql, registry, known, op, write: writable })));
        break;
      case 'images':
        images = await w.preview!.before(sql, chunk.plan, op);
        break;
      case 'write': {
        if (chunk.kind === 'records' && chunk.plan.operation.mode === 'create-only') result.reportSkipped();
        let found: Problem[];
        if (failOnError) {
          const attempt = await runOperation({ sql, registry, known, op, savepointTaken, onWritePath, upcoming }, chunk.plan, !writable);
          found = attempt.problems;
          result.merge(attempt.result);
          aborted = Boolean(attempt.aborted);
        } else {
          const run = { sql, registry, known, op, result, onWritePath };
          found = chunk.kind === 'records' ? await runRecordsPartially(run, chunk.plan) : await runEndPartially(run, chunk.plan);
        }
        problems.push(...(chunk.lineOf ? found.map((p) => withLine(p, chunk.lineOf!)) : found));
        break;
      }
      case 'owners':
        await touchOwners(sql, registry, result);
        settleUnchanged(registry, result);
        break;
      case 'preview':
        if (images) await w.preview!.after(sql, images, result);
        break;
      case 'outbox':
        // Per chunk, so that a request answered with counts only need not keep every id for its events.
        await w.events.add(sql, result);
        break;
      case 'result':
        return { problems, result, aborted };
    }
    if (stopsAfter(phase, { failOnError, failing: !writable || w.failing(), problems: problems.length })) return { problems, aborted };
  }
  return { problems, aborted };
}

/** Phase 1: the indexer locks this chunk needs that the transaction does not hold yet; true when it took any. */
async function lockChunk(w: ChunkWork, chunk: Chunk): Promise<boolean> {
  const wanted = indexerLocks(w.registry, [chunk.plan], w.indexers, w.indexing).filter((l) => {
    const held = w.held.get(l.name);
    return held === undefined || (held === 'shared' && l.mode === 'exclusive');
  });
  if (!wanted.length) return false;
  await lockNames(w.sql, wanted);
  for (const l of wanted) w.held.set(l.name, l.mode);
  return true;
}

/** What the request's last phases run against. */
export interface RequestWork {
  sql: Sql;
  marks: RequestState['marks'];
  indexing: IndexingRequest;
  indexers: IndexerSet;
  indexingMaxAttempts: number;
  events: RequestEvents;
  /** Phase 11 (not in a dry run): stores the answer, which names the indexing the request got. */
  store?: (sql: Sql, indexing: string) => Promise<void>;
}

/** Phases 9-11; returns the indexing the request got (inline, queued <n>, disabled). */
export async function finishWork(w: RequestWork): Promise<string> {
  const indexing = await withSpan('sync.indexing', { 'bulksync.indexing': w.indexing.mode }, () => applyIndexing(w.sql, { marks: w.marks, request: w.indexing, indexers: w.indexers, maxAttempts: w.indexingMaxAttempts }));
  await w.events.flush(w.sql);
  await w.store?.(w.sql, indexing);
  return indexing;
}

function withLine(p: Problem, lineOf: (index: number) => number | undefined): Problem {
  const index = p.meta?.index;
  const line = typeof index === 'number' ? lineOf(index) : undefined;
  return line === undefined ? p : { ...p, meta: { ...p.meta, line } };
}
