import type { Sql } from '../db/sql';
import { showValue, type Problem } from '../errors';
import { CHUNK_SIZE, chunks } from '../write/keys';
import type { IndexMarks } from './marks';
import { enqueueIndexJobs } from './queue';
import type { IndexerSet } from './registry';

export type IndexingMode = 'inline' | 'queue' | 'disabled';

export interface IndexingRequest {
  mode: IndexingMode;
  skip: ReadonlySet<string>;
  /** Names in indexing-skip of another system's indexers that do not exist here (answered in x-indexing-skip-ignored). */
  ignored?: readonly string[];
}

const MODES: Record<string, IndexingMode> = { 'use-queue-indexing': 'queue', 'disable-indexing': 'disabled' };

type Headers = Record<string, string | string[] | undefined>;

/** `indexing-behavior` and `indexing-skip` → what the request wants; unknown values are HEADER_INVALID. */
export function parseIndexingHeaders(headers: Headers, indexers: IndexerSet): { ok: true; value: IndexingRequest } | { ok: false; problems: Problem[] } {
  const problems: Problem[] = [];
  const raw = headers['indexing-behavior'];
  let mode: IndexingMode = 'inline';
  if (raw !== undefined && String(raw).trim() !== '') {
    const v = String(raw).trim().toLowerCase();
    if (Object.hasOwn(MODES, v)) mode = MODES[v]!;
    else problems.push({ code: 'HEADER_INVALID', detail: `indexing-behavior must be use-queue-indexing or disable-indexing (or absent), got ${showValue(raw)}`, pointer: '' });
  }
  const skip = new Set<string>();
  const ignored: string[] = [];
  const skipRaw = headers['indexing-skip'];
  if (skipRaw !== undefined) {
    for (const name of String(skipRaw).split(',').map((s) => s.trim()).filter(Boolean)) {
      const found = indexers.lookup(name);
      if (found && 'indexer' in found) skip.add(found.indexer.name);
      else if (found) ignored.push(name);
      else problems.push({ code: 'HEADER_INVALID', detail: `indexing-skip names an unknown indexer ${showValue(name)} (known: ${indexers.names().join(', ')})`, pointer: '' });
    }
  }
  return problems.length ? { ok: false, problems } : { ok: true, value: { mode, skip, ignored } };
}

/**
 * Runs what the request asked for, inside its transaction: the indexers themselves (inline), or the ids in the
 * durable pending list with a drain job per indexer (queue; rolled back with the data, committed with it), or nothing. Returns the x-indexing header value.
 */
export async function applyIndexing(sql: Sql, marks: IndexMarks, request: IndexingRequest, indexers: IndexerSet, maxAttempts: number): Promise<string> {
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
