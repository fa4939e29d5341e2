import type { Sql } from '../db/sql';
import { showValue, type Problem } from '../errors';
import { CHUNK_SIZE, chunks } from '../write/keys';
import type { IndexMarks } from './marks';
import { enqueueIndexJobs } from './sql/queue-jobs';
import type { IndexerSet } from './registry';

export type IndexingMode = 'inline' | 'queue' | 'disabled';

export interface IndexingRequest {
  mode: IndexingMode;
  skip: ReadonlySet<string>;
  /** Names in indexing-skip of another system's indexers that do not exist here (answered in x-indexing-skip-ignored). */
  ignored?: readonly string[];
}

const MODES: Record<string, IndexingMode> = { 'use-queue-indexing': 'queue', 'disable-indexing': 'disabled' };

type Parsed<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

/** `indexing-behavior` (absent or empty: inline); another value is HEADER_INVALID. */
export function parseIndexingMode(raw: string | undefined): Parsed<IndexingMode> {
  if (raw === undefined || raw.trim() === '') return { ok: true, value: 'inline' };
  const v = raw.trim().toLowerCase();
  if (Object.hasOwn(MODES, v)) return { ok: true, value: MODES[v]! };
  return { ok: false, problems: [{ code: 'HEADER_INVALID', detail: `indexing-behavior must be use-queue-indexing or disable-indexing (or absent), got ${showValue(raw)}`, pointer: '', meta: { header: 'indexing-behavior' } }] };
}

/** `indexing-skip`: indexer names (Shopware's mapped or ignored); an unknown name is HEADER_INVALID. */
export function parseIndexingSkip(raw: string | undefined, indexers: IndexerSet): Parsed<Pick<IndexingRequest, 'skip' | 'ignored'>> {
  const problems: Problem[] = [];
  const skip = new Set<string>();
  const ignored: string[] = [];
  for (const name of (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const found = indexers.lookup(name);
    if (found && 'indexer' in found) skip.add(found.indexer.name);
    else if (found) ignored.push(name);
    else problems.push({ code: 'HEADER_INVALID', detail: `indexing-skip names an unknown indexer ${showValue(name)} (known: ${indexers.names().join(', ')})`, pointer: '', meta: { header: 'indexing-skip' } });
  }
  return problems.length ? { ok: false, problems } : { ok: true, value: { skip, ignored } };
}

/**
 * Runs what the request asked for, inside its transaction: the indexers themselves (inline), or the ids in the
 * durable pending list with a drain job per indexer (queue; rolled back with the data, committed with it), or nothing. Returns the x-indexing header value.
 */
/** What the indexing of a request works with: what it changed, what it asked for, the indexers and their attempts. */
export interface IndexingRun {
  marks: IndexMarks;
  request: IndexingRequest;
  indexers: IndexerSet;
  maxAttempts: number;
}

export async function applyIndexing(sql: Sql, { marks, request, indexers, maxAttempts }: IndexingRun): Promise<string> {
  if (request.mode === 'disabled') return 'disabled';
  const pending = marks.pending();
  if (request.mode === 'queue') {
    await enqueueIndexJobs(sql, pending, maxAttempts);
    return `queued ${pending.length}`;
  }
  for (const [name, ids] of pending) {
    const ix = indexers.get(name)!;
    for (const part of chunks(ids, CHUNK_SIZE)) await ix.index(sql, part);
  }
  return 'inline';
}
