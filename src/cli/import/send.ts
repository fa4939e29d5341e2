import { ApiProblem, type ApiError, type BulksyncClient, type JsonRecord, type SyncOptions, type SyncResult } from '../../client';
import type { RowConverter } from './convert';
import type { LineProblem } from './sources';

/** A batch: records with the lines they came from, numbered in reading order (the same numbers on a resume). */
export interface Batch {
  number: number;
  records: JsonRecord[];
  lines: number[];
}

export interface BatchCounts {
  written: number;
  skipped: number;
  failed: number;
  /** The batch (or a part of it) was rolled back as a whole. */
  rolledBack: boolean;
}

/** What every batch of an import is sent with. */
export interface SendContext {
  client: BulksyncClient;
  operation: { key: string; entity: string; action: 'upsert' };
  opts: SyncOptions;
  /** The CSV columns, to name the column of a failed field (undefined for NDJSON and JSON input). */
  converter: RowConverter | undefined;
  note: (line: string) => void;
  /** Failed records (with their lines) and how many others were rolled back with them. */
  failed: (problems: LineProblem[], rolledBack: number) => void;
  /** A dry run's preview of a batch that went through. */
  preview?: (result: SyncResult, batch: Batch) => void;
}

/**
 * Sends one batch; a 413 splits it in two (each half with a key of its own) until it fits. Failed records (a 400
 * with pointers, or the errors of a partial success) are handed to `failed` with their lines; other errors throw.
 */
export async function sendWithSplit(ctx: SendContext, batch: Batch, key: string): Promise<BatchCounts> {
  const { client, operation, opts, converter, note, failed } = ctx;
  try {
    const { result } = await client.syncRecords({ ...operation, payload: batch.records }, { ...opts, idempotencyKey: key });
    ctx.preview?.(result, batch);
    const problems = (result.errors ?? []).map((e) => lineProblem(e, batch, converter));
    const failedIndexes = new Set(problems.map((p) => p.line));
    if (problems.length) failed(problems, 0);
    const skipped = countOf(result.counts?.skipped, operation.entity) ?? (Array.isArray(result.skipped) ? 0 : (result.skipped?.[operation.entity]?.length ?? 0));
    return { written: batch.records.length - failedIndexes.size - skipped, skipped, failed: failedIndexes.size, rolledBack: false };
  } catch (e) {
    if (e instanceof ApiProblem && e.status === 413 && batch.records.length > 1) {
      const half = Math.ceil(batch.records.length / 2);
      note(`lines ${batch.lines[0]}–${batch.lines.at(-1)}: too large for the service (413), sent in two halves`);
      const parts = [0, half].map((from) => ({ number: batch.number, records: batch.records.slice(from, from + half), lines: batch.lines.slice(from, from + half) }));
      const a = await sendWithSplit(ctx, parts[0]!, `${key}a`);
      const b = await sendWithSplit(ctx, parts[1]!, `${key}b`);
      return { written: a.written + b.written, skipped: a.skipped + b.skipped, failed: a.failed + b.failed, rolledBack: a.rolledBack || b.rolledBack };
    }
    if (e instanceof ApiProblem && (e.status === 400 || e.status === 409 || e.status === 413 || e.status === 422) && e.errors.some((x) => recordIndex(x) !== undefined || e.status === 413)) {
      // All or nothing: the batch was rolled back; the records named failed, the others were not written.
      const problems = e.status === 413 ? [{ line: batch.lines[0]!, code: e.code ?? 'BODY_TOO_LARGE', message: 'this record alone is larger than the service takes' }] : e.errors.map((x) => lineProblem(x, batch, converter));
      const failedLines = new Set(problems.map((p) => p.line));
      failed(problems, batch.records.length - failedLines.size);
      return { written: 0, skipped: 0, failed: failedLines.size, rolledBack: true };
    }
    throw e;
  }
}

/** An entity's number in a `counts` map of a minimal answer (`[]` when empty, as every map of the answer). */
function countOf(map: Record<string, number> | [] | undefined, entity: string): number | undefined {
  if (map === undefined) return undefined;
  return Array.isArray(map) ? 0 : (map[entity] ?? 0);
}

/** `/import/<index>/…` (or meta.index) → the record's position in the batch. */
function recordIndex(e: ApiError): number | undefined {
  const m = /^\/[^/]*\/(\d+)(\/|$)/.exec(e.source?.pointer ?? '');
  if (m) return Number(m[1]);
  return typeof e.meta?.index === 'number' ? e.meta.index : undefined;
}

function lineProblem(e: ApiError, batch: Batch, converter: RowConverter | undefined): LineProblem {
  const index = recordIndex(e);
  const line = index !== undefined ? (batch.lines[index] ?? batch.lines[0]!) : batch.lines[0]!;
  const rest = (e.source?.pointer ?? '').split('/').slice(3);
  const field = rest.filter((s) => !/^\d+$/.test(s)).join('.') || undefined;
  const column = field ? converter?.columnOf(field) : undefined;
  return { line, code: e.code, message: e.detail ?? e.title ?? e.code, ...(field ? { field } : {}), ...(column ? { column } : {}) };
}
