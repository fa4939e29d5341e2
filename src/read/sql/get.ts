import { ident, type Sql } from '../../db/sql';
import { readSource } from '../../definitions/sql/translated';
import { columnsFor } from '../records';
import type { DbRow, Selection } from '../types';

/** The rows of the records whose single-column id (database uuids) is in `ids`, with the selection's columns, by id. */
export async function selectRecordsByIds(sql: Sql, selection: Selection, ids: readonly string[]): Promise<DbRow[]> {
  const { entity } = selection;
  const idCol = ident(entity.fields[entity.primaryKey[0]!]!.column);
  const cols = columnsFor(selection).map((c) => `t.${ident(c)}`).join(', ');
  const { rows } = await sql.query(`SELECT ${cols} FROM ${readSource(entity, selection.language)} t WHERE t.${idCol} = ANY($1::uuid[]) ORDER BY t.${idCol}`, [ids]);
  return rows;
}

/** The row of one record by its single-column id (a database uuid). */
export async function selectRecord(sql: Sql, selection: Selection, id: string): Promise<DbRow | undefined> {
  return (await selectRecordsByIds(sql, selection, [id]))[0];
}
