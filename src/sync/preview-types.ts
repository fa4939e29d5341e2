import type { ApiKey } from './result';

/** What a dry run with `Prefer: return=representation` would do to one record. */
export type ChangeKind = 'create' | 'update' | 'unchanged' | 'delete' | 'clear';

/** One field's value before and after (API spelling; null when absent). */
export interface FieldChange {
  from: unknown;
  to: unknown;
}

/** One record of a preview: where the request names it, which record, and what would change in it. */
export interface PreviewRecord {
  pointer: string;
  entity: string;
  key: ApiKey;
  change: ChangeKind;
  fields: Record<string, FieldChange>;
}

/** What a preview counts per entity; `cleared` only for an entity a snapshot clear (`missing` with `set`) reaches. */
export interface EntityChanges {
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  cleared?: { records: number; fields: string[] };
}

/**
 * Where the per-record list of a preview goes while the request runs: a bounded list (JSON answer, job result) or a
 * spool file (NDJSON answer). `reset` empties it: a transaction re-run after a deadlock previews everything again.
 */
export interface PreviewSink {
  write(record: PreviewRecord): void | Promise<void>;
  reset(): void | Promise<void>;
}

/** A preview's summary and, for the bounded list, the records it kept and how many it left off. */
export interface PreviewOutcome {
  changes: Record<string, EntityChanges>;
  records?: PreviewRecord[];
  omitted: number;
}

/** The per-record list of a JSON answer (and of a job's result) stops here; the summary is always whole. */
export const PREVIEW_MAX_RECORDS = 1_000;

/** The sink of a JSON answer: the first PREVIEW_MAX_RECORDS records, and a count of the rest. */
export class BoundedPreviewList implements PreviewSink {
  records: PreviewRecord[] = [];
  omitted = 0;
  constructor(private readonly max = PREVIEW_MAX_RECORDS) {}
  write(record: PreviewRecord): void {
    if (this.records.length < this.max) this.records.push(record);
    else this.omitted++;
  }
  reset(): void {
    this.records = [];
    this.omitted = 0;
  }
}
