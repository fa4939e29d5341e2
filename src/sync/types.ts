import type { Filter } from '../criteria/types';
import type { EntityDef } from '../definitions/types';
export type { Key } from '../write/keys';

export type Action = 'upsert' | 'delete';

/** One operation of the request, checked for shape but not yet for its records. */
export interface Operation {
  key: string;
  entity: EntityDef;
  action: Action;
  payload?: unknown[];
  criteria?: unknown[];
}

export interface SyncOptions {
  failOnError: boolean;
}

export interface SyncRequest {
  operations: Operation[];
  options: SyncOptions;
}

/** Where a planned row came from, to build pointers: /<op>/<index>/<path...>. */
export interface RowRef {
  op: string;
  index: number;
  path: readonly (string | number)[];
}

import type { Key } from '../write/keys';

export interface UpsertRow {
  ref: RowRef;
  /** API field name → database value, only for fields the record gave (primary key included once assigned). */
  values: Map<string, unknown>;
  /** A record of the payload itself, not one nested in another. */
  root: boolean;
}

export interface UpsertCommand {
  kind: 'upsert';
  op: string;
  entity: EntityDef;
  rows: UpsertRow[];
}

export interface DeleteByKeysCommand {
  kind: 'delete';
  op: string;
  entity: EntityDef;
  keys: { ref: RowRef; key: Key }[];
}

export interface DeleteByCriteriaCommand {
  kind: 'deleteWhere';
  op: string;
  entity: EntityDef;
  filters: Filter[];
}

export type Command = UpsertCommand | DeleteByKeysCommand | DeleteByCriteriaCommand;

/** The plan of one operation: commands in execution order (parents before children). */
export interface OperationPlan {
  operation: Operation;
  commands: Command[];
}
