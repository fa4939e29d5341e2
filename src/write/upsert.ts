import { copyField } from '../db/copy-text';
import { ident, type Sql } from '../db/sql';
import { kindOf } from '../definitions/kinds';
import type { EntityDef, FieldDef } from '../definitions/types';
import { keyColumns, type Key } from './keys';
import { fillStage, stageOf, type StageColumn } from './stage';

/** A row ready to write: its key and the database values of the fields it sets. */
export interface WriteRow {
  key: Key;
  values: ReadonlyMap<string, unknown>;
}

function writableColumns(entity: EntityDef): FieldDef[] {
  return entity.fieldList.filter((f) => !f.writeProtected);
}

const NULL = copyField(null);

/** COPY text of a field in a row: its value, NULL when the row sets it to nothing, `fallback` when it leaves it out. */
function valueText(f: FieldDef, fallback: string): (r: WriteRow) => string {
  const name = f.name;
  return (r) => {
    const v = r.values.get(name);
    return v !== undefined ? copyField(v) : r.values.has(name) ? NULL : fallback;
  };
}

/**
 * Inserts new rows: every given field, and the definition's default for fields a row leaves out. The rows are COPYed
 * into the entity's stage, then moved by one INSERT … SELECT … ORDER BY key, so that concurrent requests take locks in
 * the same order. On a key (or, with 'nothing', any unique value) that another transaction inserted
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
    ? `(${keyColumns(entity)}) DO UPDATE SET ${nonKey.map((f) => `${ident(f.column)} = EXCLUDED.${ident(f.column)}`).join(', ')}, updated_at = now()`
    : 'DO NOTHING';
  const stage = stageOf(entity);
  const columns = fields.map(
    (f): StageColumn<WriteRow> => ({ column: stage.value(f), text: valueText(f, f.default === undefined ? NULL : copyField(kindOf(f).toDb(f.default))) }),
  );
  await fillStage(sql, stage, columns, rows);
  const text =
    `INSERT INTO ${ident(entity.table)} (${fields.map((f) => ident(f.column)).join(', ')}, created_at) ` +
    `SELECT ${fields.map((f) => stage.value(f)).join(', ')}, now() FROM ${stage.name} ORDER BY ${stageOrder(entity)} ON CONFLICT ${conflict}`;
  return (await sql.query(text)).rowCount;
}

/**
 * The stage's rows in key order: the order in which the statement takes its locks, so that concurrent requests take
 * them in the same order. PostgreSQL sorts uuids many times faster than JavaScript sorts their strings (the same
 * order: compareKeys on keys in database spelling); ctid keeps rows of one key in the order given.
 */
function stageOrder(entity: EntityDef): string {
  const stage = stageOf(entity);
  return [...entity.primaryKey.map((k) => stage.value(entity.fields[k]!)), 'ctid'].join(', ');
}

function setsData(r: WriteRow, pk: ReadonlySet<string>): boolean {
  for (const f of r.values.keys()) if (!pk.has(f)) return true;
  return false;
}

/**
 * Updates existing rows with the fields each one gives: COPYed into the entity's stage, then one UPDATE … FROM. When
 * rows give different sets of fields, a mask column per field says which rows set it, so a merge never touches a
 * field that was not sent and still costs one statement.
 */
export async function updateRows(sql: Sql, entity: EntityDef, rows: readonly WriteRow[]): Promise<void> {
  const pk = new Set(entity.primaryKey);
  const changing = rows.filter((r) => setsData(r, pk));
  if (!changing.length) return;
  const given = new Set<string>();
  for (const r of changing) for (const f of r.values.keys()) if (!pk.has(f)) given.add(f);
  const fields = writableColumns(entity).filter((f) => given.has(f.name));
  const keyFields = entity.primaryKey.map((k) => entity.fields[k]!);
  const uniform = changing.every((r) => fields.every((f) => r.values.has(f.name)));
  const stage = stageOf(entity);
  const columns: StageColumn<WriteRow>[] = keyFields.map((k) => ({ column: stage.value(k), text: (r) => copyField(r.key[k.name]) }));
  for (const f of fields) {
    columns.push({ column: stage.value(f), text: valueText(f, NULL) });
    if (!uniform) columns.push({ column: stage.mask(f), text: (r) => (r.values.has(f.name) ? 't' : 'f') });
  }
  await fillStage(sql, stage, columns, changing);
  const sets = fields.map((f) => {
    const v = `s.${stage.value(f)}`;
    return uniform ? `${ident(f.column)} = ${v}` : `${ident(f.column)} = CASE WHEN s.${stage.mask(f)} THEN ${v} ELSE t.${ident(f.column)} END`;
  });
  const match = keyFields.map((k) => `t.${ident(k.column)} = s.${stage.value(k)}`).join(' AND ');
  // The rows were locked in key order when they were looked up; the ordered stage keeps what the plan still decides
  // (a nested loop over a small stage) in that order too.
  const source = `(SELECT * FROM ${stage.name} ORDER BY ${stageOrder(entity)}) AS s`;
  await sql.query(`UPDATE ${ident(entity.table)} AS t SET ${sets.join(', ')}, updated_at = now() FROM ${source} WHERE ${match}`);
}
