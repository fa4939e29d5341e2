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
  const sorted = [...locks].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const { name, mode } of sorted) {
    const fn = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
    await sql.query(`SELECT ${fn}(hashtext('bulksync'), hashtext($1))`, [name]);
  }
}
