import { ident, type Sql } from '../db/sql';
import { kindOf } from '../definitions/kinds';
import { VERSION_COLUMNS, versionOf } from '../definitions/record-version';
import type { EntityDef, FieldDef } from '../definitions/types';
import { CHUNK_SIZE, chunks, compareKeys, keyColumns, keyCondition, keyFromRow, type Key } from './keys';

/**
 * Which of these ids of `target` exist, share-locked (FOR KEY SHARE) so that none can be deleted before this
 * transaction commits; one query per chunk, ids in order.
 */
export async function lockReferenced(sql: Sql, target: EntityDef, ids: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  const col = ident(target.fields[target.primaryKey[0]!]!.column);
  for (const part of chunks([...ids].sort(), CHUNK_SIZE)) {
    const { rows } = await sql.query<{ id: string }>(`SELECT ${col} AS id FROM ${ident(target.table)} WHERE ${col} = ANY($1::uuid[]) ORDER BY 1 FOR KEY SHARE`, [part]);
    for (const r of rows) found.add(String(r.id));
  }
  return found;
}

/** A record found by the values of some of its fields. */
export interface MatchedRow {
  key: Key;
  /** The values of the fields asked for, in their order (database spelling). */
  values: unknown[];
}

/**
 * The records of `entity` whose `fields` hold one of the value tuples (external ids, matchBy values, resolver
 * values, unique values to check): one query per chunk of tuples.
 */
export async function rowsMatching(sql: Sql, entity: EntityDef, fields: readonly FieldDef[], tuples: readonly (readonly unknown[])[]): Promise<MatchedRow[]> {
  const out: MatchedRow[] = [];
  if (!tuples.length) return out;
  const cols = fields.map((f) => ident(f.column));
  const arrays = fields.map((f, i) => `$${i + 1}::${kindOf(f).paramType}[]`);
  const cond = fields.length === 1 ? `${cols[0]} = ANY(${arrays[0]})` : `(${cols.join(', ')}) IN (SELECT * FROM unnest(${arrays.join(', ')}))`;
  for (const part of chunks([...tuples], CHUNK_SIZE)) {
    const { rows } = await sql.query<Record<string, unknown>>(
      `SELECT ${keyColumns(entity)}, ${cols.join(', ')} FROM ${ident(entity.table)} WHERE ${cond}`,
      fields.map((_, i) => part.map((t) => t[i])),
    );
    for (const r of rows) out.push({ key: keyFromRow(entity, r), values: fields.map((f) => r[f.column]) });
  }
  return out;
}

/**
 * How a lookup locks the rows it finds. `update`: rows this request will change but whose keys stay (FOR NO KEY
 * UPDATE, which leaves foreign-key checks of other requests — FOR KEY SHARE — free to proceed); `delete`: rows it
 * will remove (FOR UPDATE); `reference`: rows it only points at (FOR KEY SHARE: they cannot go away before commit).
 */
export type LockStrength = 'update' | 'delete' | 'reference';

const LOCK_CLAUSE: Record<LockStrength, string> = { update: 'FOR NO KEY UPDATE', delete: 'FOR UPDATE', reference: 'FOR KEY SHARE' };

/** A stored row found and locked: its key and its version as locked (no other transaction changes it now). */
export interface LockedRow {
  key: Key;
  version: string | null;
}

/**
 * Locks and returns those of `keys` that exist, in key order (the lock order every request shares), with their
 * versions: a version precondition compared with these holds until commit.
 */
export async function lockExisting(sql: Sql, entity: EntityDef, keys: readonly Key[], strength: LockStrength): Promise<LockedRow[]> {
  const found: LockedRow[] = [];
  const sorted = [...keys].sort(compareKeys(entity));
  for (const chunk of chunks(sorted, CHUNK_SIZE)) {
    const params: unknown[] = [];
    const cond = keyCondition(entity, chunk, params);
    const { rows } = await sql.query(
      `SELECT ${keyColumns(entity)}, ${VERSION_COLUMNS.join(', ')} FROM ${ident(entity.table)} WHERE ${cond} ORDER BY ${keyColumns(entity)} ${LOCK_CLAUSE[strength]}`,
      params,
    );
    for (const r of rows) found.push({ key: keyFromRow(entity, r), version: versionOf(r.created_at, r.updated_at) });
  }
  return found;
}
