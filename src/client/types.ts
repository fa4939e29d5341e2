import type { ApiError } from './errors';

export type JsonRecord = Record<string, unknown>;

/** One operation of a sync request (docs/sync-api.md). */
export interface SyncOperation {
  key?: string;
  entity: string;
  action: 'upsert' | 'delete';
  payload?: JsonRecord[];
  criteria?: unknown[];
  mode?: 'merge' | 'replace' | 'create-only';
  matchBy?: string[];
  missing?: unknown;
}

/** The header line of an operation in an NDJSON body: every field but `payload`. */
export type NdjsonOperationHeader = Omit<SyncOperation, 'payload'>;

/** The headers of the sync endpoint that change what a request does. */
export interface SyncOptions {
  /** Sent as `Idempotency-Key`: a retry with the same key is answered from the first run (once the service has it). */
  idempotencyKey?: string;
  /** `fail-on-error: false`: failing records are rolled back alone. */
  failOnError?: boolean;
  indexing?: 'inline' | 'queue' | 'disabled';
  /** `dry-run: true`: everything runs, nothing is committed (once the service has it). */
  dryRun?: boolean;
  /** `Prefer: return=minimal`: counts instead of id lists (once the service has it). */
  minimal?: boolean;
  /** `Prefer: return=representation`: with dryRun, the answer previews what would change (changes, records). */
  preview?: boolean;
  languageId?: string;
  skipTriggerFlow?: boolean;
}

export type KeyList = (string | JsonRecord)[];
type PerEntity<T> = Record<string, T> | [];

/** The answer of a sync request (200), partial success included. */
export interface SyncResult {
  extensions?: unknown[];
  data?: PerEntity<KeyList>;
  notFound?: PerEntity<KeyList>;
  deleted?: PerEntity<KeyList>;
  skipped?: PerEntity<KeyList>;
  /** With `Prefer: return=minimal`. */
  counts?: Record<string, PerEntity<number>>;
  /** Only with `fail-on-error: false`: the records that were rolled back. */
  errors?: ApiError[];
  /** A dry run's preview (`preview`): what would change per entity. */
  changes?: Record<string, PreviewChanges>;
  /** A dry run's preview: what would change per record (the service's JSON answer lists 1000 at most). */
  records?: PreviewRecord[];
  /** Records the preview's list left off. */
  recordsOmitted?: number;
}

/** A preview's counts for one entity. */
export interface PreviewChanges {
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  cleared?: { records: number; fields: string[] };
}

/** What a preview says would change in one record. */
export interface PreviewRecord {
  pointer: string;
  entity: string;
  key: string | JsonRecord;
  change: 'create' | 'update' | 'unchanged' | 'delete' | 'clear';
  fields: Record<string, { from: unknown; to: unknown }>;
}

export interface SyncResponse {
  result: SyncResult;
  headers: Headers;
  /** Which body format carried the request. */
  format: 'json' | 'ndjson';
}

export interface Criteria {
  filter?: unknown[];
  ids?: string[];
  term?: string;
  sort?: { field: string; order?: 'ASC' | 'DESC' }[];
  limit?: number;
  page?: number;
  after?: string;
  associations?: unknown;
  fields?: string[];
  'total-count-mode'?: 'none' | 'exact';
}

export interface SearchPage<T = JsonRecord> {
  data: T[];
  total?: number;
  next?: string;
}

export interface Change {
  entity: string;
  id: string | JsonRecord;
  op: 'upsert' | 'delete';
  at: string;
}

export interface ChangesPage {
  data: Change[];
  next: string;
}
