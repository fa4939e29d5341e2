import { ident, type Sql } from '../db/sql';
import { kindOf } from '../definitions/kinds';
import type { EntityDef, FieldDef } from '../definitions/types';
import { isLockBusy } from './db-errors';
import { keyColumns, type Key } from './keys';
import { nextUpdatedAt } from './record-version';
import { rowSource, type RowColumn } from './row-source';

/** A row ready to write: its key and the database values of the fields it sets. */
export interface WriteRow {
  key: Key;
  values: ReadonlyMap<string, unknown>;
}

/** Columns of the entity's own table a write may set (translated fields live in the translation table). */
function writableColumns(entity: EntityDef): FieldDef[] {
  return entity.fieldList.filter((f) => !f.writeProtected && !f.translated);
}

/** A field's value in a row: what the row gives (null included), `fallback` when it leaves the field out. */
function fieldColumn(f: FieldDef, fallback: unknown): RowColumn<WriteRow> {
  const name = f.name;
  return {
    field: f,
    value: (r) => {
      const v = r.values.get(name);
      return v !== undefined ? v : r.values.has(name) ? null : fallback;
    },
  };
}

/**
 * Inserts new rows, one statement (after a COPY, for many rows; see row-source.ts): every given field, and the
 * definition's default for fields a row leaves out. Rows are inserted in key order, so that concurrent requests take
 * locks in the same order. On a key (or, with 'nothing', any unique value) that another transaction inserted
 * meanwhile: 'nothing' skips the row (the caller sees it in the count and decides), 'update' merges into it. Returns
 * the number of rows inserted.
 */
export async function insertRows(sql: Sql, entity: EntityDef, rows: readonly WriteRow[], onConflict: 'nothing' | 'update'): Promise<number> {
  if (!rows.length) return 0;
  const given = new Set<string>();
  for (const r of rows) for (const f of r.values.keys()) given.add(f);
  const fields = writableColumns(entity).filter((f) => given.has(f.name) || f.default !== undefined || entity.primaryKey.includes(f.name));
  const pk = new Set(entity.primaryKey);
  const nonKey = fields.filter((f) => !pk.has(f.name));
  // 'nothing' names no conflict target, so that every unique index is an arbiter: a row whose key or unique value
  // another transaction is inserting at that moment is skipped after waiting, instead of the insert holding its
  // speculative row while it waits in a non-arbiter unique index (a deadlock with that transaction's next statement).
  const conflict = nonKey.length && onConflict === 'update'
    ? `(${keyColumns(entity)}) DO UPDATE SET ${nonKey.map((f) => `${ident(f.column)} = EXCLUDED.${ident(f.column)}`).join(', ')}, updated_at = ${nextUpdatedAt(ident(entity.table))}`
    : 'DO NOTHING';
  const columns = fields.map((f) => fieldColumn(f, f.default === undefined ? null : kindOf(f).toDb(f.default)));
  const s = await rowSource(sql, { entity, columns, rows });
  const text =
    `INSERT INTO ${ident(entity.table)} (${fields.map((f) => ident(f.column)).join(', ')}, created_at) ` +
    `SELECT ${fields.map(s.value).join(', ')}, now() FROM ${s.from} ORDER BY ${s.order} ON CONFLICT ${conflict}`;
  return (await sql.query(text, s.params)).rowCount;
}

/** Whether the row sets one of `columns` (the table's own non-key columns). */
function setsData(r: WriteRow, columns: ReadonlySet<string>): boolean {
  for (const f of r.values.keys()) if (columns.has(f)) return true;
  return false;
}

/**
 * Updates existing rows with the fields each one gives, one statement (after a COPY, for many rows). When rows give
 * different sets of fields, a mask per field says which rows set it, so a merge never touches a field that was not
 * sent and still costs one statement. A row that already holds what it would become is left alone (no new row
 * version, no change-feed entry). Returns the positions in `rows` of the rows it changed.
 */
export async function updateRows(sql: Sql, entity: EntityDef, rows: readonly WriteRow[], opts: { mergeKeys?: boolean } = {}): Promise<number[]> {
  const pk = new Set(entity.primaryKey);
  // Only the table's own columns: translated fields live in the translation table.
  const own = new Set(writableColumns(entity).filter((f) => !pk.has(f.name)).map((f) => f.name));
  const positions: number[] = [];
  const changing: WriteRow[] = [];
  rows.forEach((r, i) => {
    if (!setsData(r, own)) return;
    positions.push(i);
    changing.push(r);
  });
  if (!changing.length) return [];
  const given = new Set<string>();
  for (const r of changing) for (const f of r.values.keys()) if (own.has(f)) given.add(f);
  const fields = writableColumns(entity).filter((f) => given.has(f.name));
  const keyFields = entity.primaryKey.map((k) => entity.fields[k]!);
  const uniform = changing.every((r) => fields.every((f) => r.values.has(f.name)));
  const columns: RowColumn<WriteRow>[] = keyFields.map((k) => ({ field: k, value: (r) => r.key[k.name] }));
  for (const f of fields) {
    columns.push(fieldColumn(f, null));
    if (!uniform) columns.push({ field: f, mask: true, value: (r) => r.values.has(f.name) });
  }
  const s = await rowSource(sql, { entity, columns, rows: changing });
  // The rows were locked in key order when they were looked up; ordered rows keep what the plan still decides (a
  // nested loop over a few rows) in that order too.
  const select = [
    `${s.ordinal} AS n`,
    ...keyFields.map((k, i) => `${s.value(k)} AS k${i}`),
    ...fields.flatMap((f, i) => [`${s.value(f)} AS v${i}`, ...(uniform ? [] : [`${s.mask(f)} AS m${i}`])]),
  ];
  const sets = fields.map((f, i) => {
    let v = `u.v${i}`;
    // customFields in merge mode: the given keys go into the stored object; a key given as null is removed.
    if (opts.mergeKeys && f.mergeKeys) {
      const t = `t.${ident(f.column)}`;
      v = `CASE WHEN ${v} IS NULL THEN NULL ELSE (coalesce(${t}, '{}'::jsonb) || ${v}) - ARRAY(SELECT k FROM jsonb_each(${v}) AS e(k, x) WHERE x = 'null'::jsonb) END`;
    }
    return uniform ? v : `CASE WHEN u.m${i} THEN ${v} ELSE t.${ident(f.column)} END`;
  });
  const match = keyFields.map((k, i) => `t.${ident(k.column)} = u.k${i}`).join(' AND ');
  const { rows: updated } = await sql.query<{ n: number | string }>(
    `UPDATE ${ident(entity.table)} AS t SET ${fields.map((f, i) => `${ident(f.column)} = ${sets[i]}`).join(', ')}, updated_at = ${nextUpdatedAt('t')} ` +
      `FROM (SELECT ${select.join(', ')} FROM ${s.from} ORDER BY ${s.order}) AS u WHERE ${match} ` +
      `AND ROW(${fields.map((f) => `t.${ident(f.column)}`).join(', ')}) IS DISTINCT FROM ROW(${sets.join(', ')}) RETURNING u.n`,
    s.params,
  );
  return updated.map((r) => positions[Number(r.n) - 1]!);
}

/**
 * Gives records a new version without changing their data (their translation rows or links changed): `updated_at`
 * moves on, rows locked in key order first like every other write of this request.
 */
export async function touchRows(sql: Sql, entity: EntityDef, dbIds: readonly string[], wait = true): Promise<boolean> {
  if (!dbIds.length) return true;
  const table = ident(entity.table);
  const id = ident(entity.fields[entity.primaryKey[0]!]!.column);
  try {
    await sql.query(
      `UPDATE ${table} t SET updated_at = ${nextUpdatedAt('t')} ` +
        `FROM (SELECT x.${id} FROM ${table} x WHERE x.${id} = ANY($1::uuid[]) ORDER BY x.${id} FOR NO KEY UPDATE${wait ? '' : ' NOWAIT'}) l WHERE t.${id} = l.${id}`,
      [[...dbIds].sort()],
    );
    return true;
  } catch (e) {
    // Without waiting, another transaction holds one of the rows (the caller's
    // savepoint undoes the failed statement).
    if (!wait && isLockBusy(e)) return false;
    throw e;
  }
}
