import type { Sql } from '../db/sql';

/** A named lock and how it is held: `exclusive` waits for every other holder, `shared` only for exclusive ones. */
export interface NamedLock {
  name: string;
  mode: 'shared' | 'exclusive';
}

/**
 * Transaction-scoped advisory locks, taken in name order (the order every transaction shares) and released at commit
 * or rollback. Taking a lock that the transaction already holds in the same mode is a no-op; a transaction never asks
 * for a lock it holds shared in exclusive mode (it would wait for the other sharers, who may wait for it).
 */
export async function lockNames(sql: Sql, locks: readonly NamedLock[]): Promise<void> {
  for (const { name, mode } of sortedLocks(locks)) await sql.query(`SELECT ${lockFunction(mode)}(hashtext('bulksync'), hashtext($1))`, [name]);
}

/**
 * The same locks as statements without parameters, to go in the round trip that begins the transaction. The names
 * come from definitions and indexer names, never from a request; quoted all the same.
 */
export function lockStatements(locks: readonly NamedLock[]): string[] {
  return sortedLocks(locks).map(({ name, mode }) => `SELECT ${lockFunction(mode)}(hashtext('bulksync'), hashtext('${name.replace(/'/g, "''")}'))`);
}

function sortedLocks(locks: readonly NamedLock[]): NamedLock[] {
  return [...locks].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function lockFunction(mode: NamedLock['mode']): string {
  return mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
}
