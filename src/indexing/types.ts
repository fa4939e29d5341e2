import type { Sql } from '../db/sql';
import type { EntityDef } from '../definitions/types';
import type { Key } from '../write/keys';

/**
 * An indexer keeps derived fields of one entity up to date. It is told which records of which entities changed
 * and answers, set-wise, which of its own records are affected; later it recomputes those records.
 */
export interface Indexer {
  name: string;
  /** The entity whose fields it writes. */
  entity: EntityDef;
  /** Entities whose changes can affect its records (mapping entities included). */
  listens: readonly string[];
  /**
   * Entities whose changes make it rewrite records that the change did not lock (a category's descendants, the
   * products below a moved category). A transaction that changes one of them and indexes inline holds the
   * indexer's lock (`indexerLock`) from its start, so that two such transactions never wait on each other's rows.
   */
  contendedBy: readonly string[];
  /** Affected ids, read from the state before `keys` of `entity` are changed or deleted (old parents, say). */
  before(sql: Sql, entity: EntityDef, keys: readonly Key[]): Promise<string[]>;
  /**
   * Whether `before` reads the database for records of `entity` (the old parent of a moved category): a write of
   * such records must then learn which rows change before it writes them. Absent: it never does.
   */
  readsBefore?(entity: EntityDef): boolean;
  /** Affected ids, read from the state after `keys` of `entity` were written. */
  after(sql: Sql, entity: EntityDef, keys: readonly Key[]): Promise<string[]>;
  /** Recomputes the derived fields of these records (database ids); ids that no longer exist are ignored. */
  index(sql: Sql, ids: readonly string[]): Promise<void>;
  /** Ids of its entity in key order after `after` (null: from the start), for a full re-index in batches. */
  batch(sql: Sql, after: string | null, size: number): Promise<string[]>;
}

/** The name of an indexer's transaction lock (see `contendedBy`). */
export function indexerLock(indexer: string): string {
  return `indexer:${indexer}`;
}
