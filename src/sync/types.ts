import type { Filter } from '../criteria/types';
import type { EntityDef } from '../definitions/types';
export type { Key } from '../write/keys';

export type Action = 'upsert' | 'delete';

/** merge: Shopware's upsert; replace: fields not given are reset; create-only: existing records are left alone. */
export type WriteMode = 'merge' | 'replace' | 'create-only';

/** After an upsert, what happens to the records inside `within` that the payload did not name. */
export interface MissingClause {
  within: unknown;
  set?: unknown;
  delete?: true;
  /** Clear guard: the largest share of the records inside `within` the clear may touch (default from config). */
  maxRatio?: number;
  /** Clear guard: the most records the clear may touch. */
  maxRecords?: number;
  /** No clear guard. */
  force?: boolean;
}

/** How much a snapshot clear may touch before it is refused (CLEAR_GUARD); absent with `force`. */
export interface ClearGuard {
  maxRatio: number;
  maxRecords?: number;
}

/** One operation of the request, checked for shape but not yet for its records. */
export interface Operation {
  key: string;
  entity: EntityDef;
  action: Action;
  payload?: unknown[];
  criteria?: unknown[];
  mode: WriteMode;
  /** Unique fields that find existing records for records without id (after externalId), in order. */
  matchBy: string[];
  missing?: MissingClause;
}

/** What the request's headers asked for, parsed at the HTTP edge. */
/** Where a planned row came from, to build pointers: /<op>/<index>/<path...>. */
export interface RowRef {
  op: string;
  index: number;
  path: readonly (string | number)[];
}

import type { Key } from '../write/keys';
import type { Filter as CriteriaFilter } from '../criteria/types';

export interface UpsertRow {
  ref: RowRef;
  /** API field name → database value, only for fields the record gave (primary key included once assigned). */
  values: Map<string, unknown>;
  /** A record of the payload itself, not one nested in another. */
  root: boolean;
  /** A nested record that gave nothing but its key: a reference to an existing record, never one to create. */
  reference?: boolean;
  /** Planning knew the record is new and checked its required fields already. */
  requiredChecked?: boolean;
  /** `_version`: the record is written only if the stored record still has this version (else VERSION_CONFLICT). */
  version?: string;
}

export interface UpsertCommand {
  kind: 'upsert';
  op: string;
  entity: EntityDef;
  rows: UpsertRow[];
  mode: WriteMode;
  /** Only the operation's own entity gets the mode's reset (replace); nested records merge. */
  isRootEntity: boolean;
  /** The operation clears what it did not name (`missing`): the keys it names are kept for that. */
  keepsNames?: boolean;
}

/** The snapshot clear of an upsert: records inside `filters` not named by the payload get `set`, or are deleted. */
export interface MissingCommand {
  kind: 'missing';
  op: string;
  entity: EntityDef;
  filters: CriteriaFilter[];
  set?: Map<string, unknown>;
  delete: boolean;
  guard?: ClearGuard;
}

export interface DeleteByKeysCommand {
  kind: 'delete';
  op: string;
  entity: EntityDef;
  keys: DeleteKey[];
}

/** A record to delete by its key; with `_version`, only if the stored record still has that version. */
export interface DeleteKey {
  ref: RowRef;
  key: Key;
  version?: string;
}

export interface DeleteByCriteriaCommand {
  kind: 'deleteWhere';
  op: string;
  entity: EntityDef;
  filters: Filter[];
}

export type Command = UpsertCommand | DeleteByKeysCommand | DeleteByCriteriaCommand | MissingCommand;

/** The plan of one operation: commands in execution order (parents before children). */
export interface OperationPlan {
  operation: Operation;
  commands: Command[];
  /** Payload records planning already refused (partial success goes on without them). */
  failedRecords?: number;
}
