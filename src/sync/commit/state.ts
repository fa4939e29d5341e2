import type { Sql } from '../../db/sql';
import type { Registry } from '../../definitions/registry';
import type { IndexMarks } from '../../indexing/marks';
import type { Problem } from '../../errors';
import type { DeferredReference, RequestKeys } from './resolve';
import type { SyncResult } from '../result';
import type { WritePath } from '../../observability/observers';

export type { WritePath };

/** What the request has done so far that later operations build on; copied per attempt in partial mode. */
export class RequestState {
  constructor(
    readonly keys: RequestKeys,
    readonly marks: IndexMarks,
  ) {}
  clone(): RequestState {
    return new RequestState(this.keys.clone(), this.marks.clone());
  }
  adopt(other: RequestState): void {
    this.keys.adopt(other.keys);
    this.marks.adopt(other.marks);
  }
}

/** State of one operation that outlives a rolled-back attempt. */
export interface OperationState {
  /** Keys of the operation's own records: `missing` leaves them alone, even those that failed. */
  named: Set<string>;
  /** create-only: payload records that existed and were left alone; what is nested below them is left out too. */
  skipped: Set<number>;
  /** Records of the operation that failed so far (planning or writing), under fail-on-error: false. */
  failed: number;
  /** References to the operation's own records that were not written yet, set at the operation's end. */
  deferred: DeferredReference[];
  /** The operation's entity, when its references may wait for later chunks (fail on error only). */
  deferFor?: string;
}

/** What a part of an operation (a chunk, an attempt, a command) runs against: the transaction and the state so far. */
export interface ChunkRun {
  sql: Sql;
  registry: Registry;
  /** What the request has done so far. */
  known: RequestState;
  /** The state of the operation. */
  op: OperationState;
  /** Told how each run of the operation's commands was written (not told of a run that only looks up). */
  onWritePath?: (path: WritePath) => void;
}

/** What a command runs against, in one object. */
export interface CommandRun extends ChunkRun {
  /** Where what the command did goes. */
  result: SyncResult;
  /** Where its problems go. */
  problems: Problem[];
  /** False once the request fails: lookups only, no writes. */
  writable: boolean;
}

export interface Attempt {
  result: SyncResult;
  problems: Problem[];
  /** A statement failed outside a savepoint: the transaction takes no more statements. */
  aborted?: boolean;
}
