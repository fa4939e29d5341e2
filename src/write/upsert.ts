import { arrayLiteral } from '../db/array-literal';
import { ident, type Sql } from '../db/sql';
import { kindOf } from '../definitions/kinds';
import type { EntityDef, FieldDef } from '../definitions/types';
import { CHUNK_SIZE, chunks, compareKeys, keyColumns, type Key } from './keys';

/** A row ready to write: its key and the database values of the fields it sets. */
export interface WriteRow {
  key: Key;
  values: ReadonlyMap<string, unknown>;
}

/** Columns of the entity's own table a write may set (translated fields live in the translation table). */
function writableColumns(entity: EntityDef): FieldDef[] {
  return entity.fieldList.filter((f) => !f.writeProtected && !f.translated);
}

function sortRows(entity: EntityDef, rows: readonly WriteRow[]): WriteRow[] {
  const cmp = compareKeys(entity);
  return [...rows].sort((a, b) => cmp(a.key, b.key));
}

/**
 * Inserts new rows, one statement per chunk: every given field, and the definition's default for fields a row
 * leaves out. Rows are sorted by key so that concurrent requests take locks in the same order. On a key (or, with
 * 'nothing', any unique value) that another transaction inserted meanwhile: 'nothing' skips the row (the caller sees
 * it in the count and decides), 'update' merges into it. Returns the number of rows inserted.
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
    ? `(${keyColumns(entity)}) DO UPDATE SET ${nonKey.map((f) => `${ident(f.column)} = EXCLUDED.${ident(f.column)}`).join(', ')}, updated_at = now()`
    : 'DO NOTHING';
  const defaults = fields.map((f) => (f.default === undefined ? null : kindOf(f).toDb(f.default)));
  let inserted = 0;
  for (const chunk of chunks(sortRows(entity, rows), CHUNK_SIZE)) {
    const params = fields.map((f, i) =>
      arrayLiteral(
        chunk.map((r) => (r.values.has(f.name) ? r.values.get(f.name) : defaults[i])),
        kindOf(f).paramType,
      ),
    );
    const text =
      `INSERT INTO ${ident(entity.table)} (${fields.map((f) => ident(f.column)).join(', ')}, created_at) ` +
      `SELECT ${fields.map((f) => castFromParam(f, 'v.' + ident(f.column))).join(', ')}, now() ` +
      `FROM unnest(${fields.map((f, i) => `$${i + 1}::${kindOf(f).paramType}[]`).join(', ')}) AS v(${fields.map((f) => ident(f.column)).join(', ')}) ` +
      `ON CONFLICT ${conflict}`;
    inserted += (await sql.query(text, params)).rowCount;
  }
  return inserted;
}

/**
 * Updates existing rows with the fields each one gives, one statement per chunk. When rows give different
 * sets of fields, a boolean mask per column says which rows set it, so a merge never touches a field that was
 * not sent and still costs one statement.
 */
export async function updateRows(sql: Sql, entity: EntityDef, rows: readonly WriteRow[], opts: { mergeKeys?: boolean } = {}): Promise<void> {
  const own = new Set(writableColumns(entity).filter((f) => !entity.primaryKey.includes(f.name)).map((f) => f.name));
  const changing = rows.filter((r) => [...r.values.keys()].some((f) => own.has(f)));
  if (!changing.length) return;
  const given = new Set<string>();
  for (const r of changing) for (const f of r.values.keys()) if (own.has(f)) given.add(f);
  const fields = writableColumns(entity).filter((f) => given.has(f.name));
  const keyFields = entity.primaryKey.map((k) => entity.fields[k]!);
  const uniform = changing.every((r) => fields.every((f) => r.values.has(f.name)));
  for (const chunk of chunks(sortRows(entity, changing), CHUNK_SIZE)) {
    const params: unknown[] = [];
    const cols: string[] = [];
    const arrays: string[] = [];
    const add = (name: string, type: string, values: unknown[]) => {
      params.push(arrayLiteral(values, type));
      cols.push(name);
      arrays.push(`$${params.length}::${type}[]`);
    };
    for (const k of keyFields) add(`k_${k.column}`, kindOf(k).paramType, chunk.map((r) => r.key[k.name]));
    for (const f of fields) {
      add(`v_${f.column}`, kindOf(f).paramType, chunk.map((r) => (r.values.has(f.name) ? r.values.get(f.name) : null)));
      if (!uniform) add(`m_${f.column}`, 'boolean', chunk.map((r) => r.values.has(f.name)));
    }
    const sets = fields.map((f) => {
      let v = castFromParam(f, `v.${ident('v_' + f.column)}`);
      // customFields in merge mode: the given keys go into the stored object; a key given as null is removed.
      if (opts.mergeKeys && f.mergeKeys) {
        const t = `t.${ident(f.column)}`;
        v = `CASE WHEN ${v} IS NULL THEN NULL ELSE (coalesce(${t}, '{}'::jsonb) || ${v}) - ARRAY(SELECT k FROM jsonb_each(${v}) AS e(k, x) WHERE x = 'null'::jsonb) END`;
      }
      return uniform
        ? `${ident(f.column)} = ${v}`
        : `${ident(f.column)} = CASE WHEN v.${ident('m_' + f.column)} THEN ${v} ELSE t.${ident(f.column)} END`;
    });
    const match = keyFields.map((k) => `t.${ident(k.column)} = v.${ident('k_' + k.column)}`).join(' AND ');
    const text =
      `UPDATE ${ident(entity.table)} AS t SET ${sets.join(', ')}, updated_at = now() ` +
      `FROM unnest(${arrays.join(', ')}) AS v(${cols.map(ident).join(', ')}) WHERE ${match}`;
    await sql.query(text, params);
  }
}

function castFromParam(f: FieldDef, expr: string): string {
  const kind = kindOf(f);
  return kind.paramType === kind.sqlType ? expr : `${expr}::${kind.sqlType}`;
}
