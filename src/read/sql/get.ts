import { ident, type Sql } from '../../db/sql';
import { readSource } from '../../db/translated';
import { columnsFor } from '../records';
import type { DbRow, Selection } from '../types';

/** The row of one record by its single-column id (a database uuid), with the selection's columns. */
export async function selectRecord(sql: Sql, selection: Selection, id: string): Promise<DbRow | undefined> {
  const { entity } = selection;
  const idCol = entity.fields[entity.primaryKey[0]!]!.column;
  const cols = columnsFor(selection).map((c) => `t.${ident(c)}`).join(', ');
  const { rows } = await sql.query(`SELECT ${cols} FROM ${readSource(entity, selection.language)} t WHERE t.${ident(idCol)} = $1::uuid`, [id]);
  return rows[0];
}
