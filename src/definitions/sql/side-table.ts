import { ident } from '../../db/sql';
import type { FieldDef, SideTable } from '../types';

/**
 * A condition on a field kept in a table of its own (FieldDef.sideTable), as a condition on the records: their key
 * among the keys of the side table's rows that meet it. `condition` is given the side table's column of the field.
 * Written as a set to join against, so that the side table's own index (a search vector's GIN) finds the rows.
 */
export function whereSideTable(field: FieldDef, side: SideTable, alias: string, condition: (column: string) => string): string {
  const owner = (alias ? `${alias}.` : '') + ident(side.owner);
  // An alias no caller uses for its own rows (a caller's `s` must still be its own inside the condition it builds).
  return `${owner} IN (SELECT side_row.${ident(side.key)} FROM ${ident(side.table)} side_row WHERE ${condition(`side_row.${ident(field.column)}`)})`;
}
