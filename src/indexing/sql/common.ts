import { ident, type Sql } from '../../db/sql';
import type { EntityDef } from '../../definitions/types';
import type { Key } from '../../write/keys';

export function col(entity: EntityDef, field: string): string {
  return ident(entity.fields[field]!.column);
}

export function pkCol(entity: EntityDef): string {
  return col(entity, entity.primaryKey[0]!);
}

/** The single-column ids of keys (indexers only work on entities with an `id`). */
export function idsOf(entity: EntityDef, keys: readonly Key[]): string[] {
  return keys.map((k) => k[entity.primaryKey[0]!]!);
}

export async function keysetBatch(sql: Sql, entity: EntityDef, after: string | null, size: number): Promise<string[]> {
  const pk = pkCol(entity);
  const { rows } = await sql.query<{ id: string }>(
    `SELECT ${pk} AS id FROM ${ident(entity.table)} WHERE $1::uuid IS NULL OR ${pk} > $1::uuid ORDER BY ${pk} LIMIT $2`,
    [after, size],
  );
  return rows.map((r) => String(r.id));
}

/**
 * Locks the records an indexer is about to recompute, in key order. Run it before the statement that computes:
 * that statement then reads a snapshot taken after every writer of these records committed, so it never writes back
 * values computed from a state that another transaction has meanwhile changed.
 */
export async function lockForIndexing(sql: Sql, entity: EntityDef, ids: readonly string[]): Promise<void> {
  const pk = pkCol(entity);
  await sql.query(`SELECT ${pk} FROM ${ident(entity.table)} WHERE ${pk} = ANY($1::uuid[]) ORDER BY ${pk} FOR NO KEY UPDATE`, [ids]);
}
