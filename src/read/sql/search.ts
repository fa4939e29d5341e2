import { criteriaToSql } from '../../criteria/sql';
import { ident } from '../../db/sql';
import { readSource } from '../../db/translated';
import { kindOf } from '../../definitions/kinds';
import type { FieldDef } from '../../definitions/types';
import { columnsFor } from '../records';
import type { SearchQuery, SortKey } from '../types';

const T = 't';

function col(field: FieldDef): string {
  return `${T}.${ident(field.column)}`;
}

/** Sort-value columns of the page query are named __s0, __s1, …; they feed `next`. */
export function sortValueColumn(i: number): string {
  return `__s${i}`;
}

/**
 * ASC puts NULLs last and DESC puts them first (PostgreSQL's defaults), i.e. NULL sorts as the greatest value
 * either way. The keyset condition below relies on exactly this.
 */
function orderBy(sort: readonly SortKey[]): string {
  return sort.map((s) => `${col(s.field)} ${s.order === 'ASC' ? 'ASC NULLS LAST' : 'DESC NULLS FIRST'}`).join(', ');
}

/**
 * "Comes after the cursor" for a sort order: (k1 after) OR (k1 equal AND k2 after) OR …, with NULL handled as
 * the greatest value. Values are the PostgreSQL text of the last row's sort values, cast back to the column type,
 * so that positions are exact (a timestamptz keeps its microseconds, a float all its digits).
 */
export function keysetCondition(sort: readonly SortKey[], values: readonly (string | null)[], params: unknown[]): string {
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const eq: string[] = [];
  const branches: string[] = [];
  sort.forEach((s, i) => {
    const c = col(s.field);
    const v = values[i] ?? null;
    const typed = v === null ? '' : `${p(v)}::${kindOf(s.field).sqlType}`;
    let after: string | undefined;
    if (s.notNull) after = `${c} ${s.order === 'ASC' ? '>' : '<'} ${typed}`;
    else if (s.order === 'ASC') after = v === null ? undefined : `(${c} > ${typed} OR ${c} IS NULL)`;
    else after = v === null ? `${c} IS NOT NULL` : `${c} < ${typed}`;
    if (after) branches.push([...eq, after].join(' AND '));
    eq.push(v === null ? `${c} IS NULL` : `${c} = ${typed}`);
  });
  return branches.length ? branches.map((b) => `(${b})`).join(' OR ') : 'false';
}

function where(query: SearchQuery, params: unknown[], keyset: boolean): string {
  const parts: string[] = [];
  if (query.filters.length) parts.push(criteriaToSql(query.filters, params, T));
  if (keyset && query.after) parts.push(`(${keysetCondition(query.sort, query.after, params)})`);
  return parts.length ? ` WHERE ${parts.join(' AND ')}` : '';
}

/** One page: the selected columns, the sort values as text, one row more than the limit (to know whether there is a next page). */
export function pageSql(query: SearchQuery, params: unknown[]): string {
  const columns = columnsFor(query.selection).map((c) => `${T}.${ident(c)}`);
  const sortValues = query.sort.map((s, i) => `${col(s.field)}::text AS ${sortValueColumn(i)}`);
  let text = `SELECT ${[...columns, ...sortValues].join(', ')} FROM ${readSource(query.entity, query.selection.language)} ${T}`;
  text += where(query, params, true);
  text += ` ORDER BY ${orderBy(query.sort)}`;
  params.push(query.limit + 1);
  text += ` LIMIT $${params.length}`;
  if (query.offset) {
    params.push(query.offset);
    text += ` OFFSET $${params.length}`;
  }
  return text;
}

/** The number of records the filters match (the keyset position does not narrow a total). */
export function countSql(query: SearchQuery, params: unknown[]): string {
  return `SELECT count(*) AS total FROM ${readSource(query.entity, query.selection.language)} ${T}${where(query, params, false)}`;
}
