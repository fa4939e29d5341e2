import type { Sql } from '../db/sql';

/**
 * Transaction-scoped advisory locks, one per name, taken in name order (the order every transaction shares) and
 * released at commit or rollback. Taking a lock that the transaction already holds is a no-op.
 */
export async function lockNames(sql: Sql, names: readonly string[]): Promise<void> {
  for (const name of [...new Set(names)].sort()) {
    await sql.query(`SELECT pg_advisory_xact_lock(hashtext('bulksync'), hashtext($1))`, [name]);
  }
}
