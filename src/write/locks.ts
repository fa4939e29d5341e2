import type { Sql } from '../db/sql';
import type { EntityDef } from '../definitions/types';
import { keyString, type Key } from './keys';

/** A stable 32-bit number per table: the first half of the advisory lock key, so tables do not collide. */
function tableSpace(table: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < table.length; i++) {
    h ^= table.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/**
 * Transaction-scoped advisory locks on keys, whether the records exist or not, taken in one global order (by hash)
 * before any row is locked or inserted. Row locks alone leave a gap: a request that locks its existing keys and then
 * inserts its new ones takes the lock of a key another request committed in between out of order. With every
 * writer holding the keys' advisory locks first, requests that share keys queue instead of deadlocking.
 */
export async function lockKeys(sql: Sql, entity: EntityDef, keys: readonly Key[]): Promise<void> {
  if (!keys.length) return;
  await sql.query(
    `SELECT count(pg_advisory_xact_lock($1::int, s.h)) FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($2::text[]) AS k ORDER BY 1) AS s`,
    [tableSpace(entity.table), keys.map((k) => keyString(entity, k))],
  );
}
