import { criteriaToSql } from '../../criteria/sql';
import type { Filter } from '../../criteria/types';
import { ident } from '../../db/sql';
import { readSource } from '../../definitions/sql/translated';
import { kindOf } from '../../definitions/kinds';
import type { FieldDef } from '../../definitions/types';
import { columnsFor } from '../records';
import { listingSource } from './listing';
import { filteredFields, keysSource } from './source';
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

/** The search's filters and post-filters as one condition (or none). */
function matches(query: SearchQuery, params: unknown[]): string | undefined {
  const filters = [...query.filters, ...query.postFilters];
  return filters.length ? criteriaToSql(filters, params, T) : undefined;
}

/**
 * What a page and its total read from, as `<source> t`: the entity's records the filters match. With `grouping`,
 * the first record (in the sort order) of each distinct combination of the grouped fields' values.
 */
function matched(query: SearchQuery, params: unknown[]): { from: string; where: string[] } {
  const all = [...query.filters, ...query.postFilters];
  if (!query.grouping.length && !matchedFirst(query)) {
    // A category's listing, read in its order from the listing table when that holds everything the page needs.
    const fields = new Set([...query.sort.map((s) => s.field.name), ...query.entity.primaryKey]);
    const listing = listingSource({ entity: query.entity, language: query.selection.language, filters: all, fields }, params);
    if (listing) return { from: `${listing.source} ${T}`, where: listing.filters.length ? [criteriaToSql(listing.filters, params, T)] : [] };
  }
  const source = `${keysSource(query.entity, query.selection.language, filteredFields(all))} ${T}`;
  const cond = matches(query, params);
  if (matchedFirst(query)) {
    // Words are found through the search vector's index, then sorted. Left to itself, PostgreSQL walks the sort's
    // index (the id) and tests every record until a page is full: thousands of records for a word in one in 200.
    // OFFSET 0 keeps the match a step of its own; as every match is read anyway, it is counted there too.
    return { from: `(SELECT ${T}.*, count(*) OVER () AS ${TOTAL_COLUMN} FROM ${source} WHERE ${cond} OFFSET 0) ${T}`, where: [] };
  }
  if (!query.grouping.length) return { from: source, where: cond ? [cond] : [] };
  const groups = query.grouping.map(col);
  const inner = `SELECT DISTINCT ON (${groups.join(', ')}) ${T}.* FROM ${source}${cond ? ` WHERE ${cond}` : ''} ORDER BY ${[...groups, orderBy(query.sort)].join(', ')}`;
  return { from: `(${inner}) ${T}`, where: [] };
}

/** The column of a page that carries the number of matches (see matchedFirst). */
export const TOTAL_COLUMN = '__total';

/**
 * Whether the matches are found before they are sorted (a full-text search): then the page's rows carry the total
 * (TOTAL_COLUMN), which costs nothing more and needs no second statement.
 */
export function matchedFirst(query: SearchQuery): boolean {
  return !query.grouping.length && hasTerm([...query.filters, ...query.postFilters]);
}

function hasTerm(filters: readonly Filter[]): boolean {
  return filters.some((f) => ('queries' in f ? f.type === 'multi' && f.operator === 'and' && hasTerm(f.queries) : f.type === 'term'));
}

const keyColumn = (i: number) => `__k${i}`;

/**
 * The keyset condition is an OR of branches, which no index can seek by. Implied by it: the first sort key is at
 * or past the cursor's value — a plain bound an index on that key seeks by (a deep page costs what the first
 * costs). Left out where NULLs would follow the value (an ascending key that may be NULL).
 */
function firstKeyBound(query: SearchQuery, params: unknown[]): string | undefined {
  const first = query.sort[0]!;
  const v = query.after?.[0];
  if (v === null || v === undefined) return undefined;
  if (first.order === 'ASC' && first.field.nullable && !first.notNull) return undefined;
  params.push(v);
  return `${col(first.field)} ${first.order === 'ASC' ? '>=' : '<='} $${params.length}::${kindOf(first.field).sqlType}`;
}

/**
 * One page: the selected columns, the sort values as text, one row more than the limit (to know whether there is
 * a next page). The page's keys are found first, reading only the columns the filters and the sort need (an index
 * on the sort answers a deep page without touching the rest); the answered columns, translations included, are
 * read for the page's records only.
 */
export function pageSql(query: SearchQuery, params: unknown[]): string {
  const { entity } = query;
  const keys = entity.primaryKey.map((k) => entity.fields[k]!);
  const { from, where } = matched(query, params);
  if (query.after) {
    where.push(`(${keysetCondition(query.sort, query.after, params)})`);
    const bound = firstKeyBound(query, params);
    if (bound) where.push(bound);
  }
  const inner = [...keys.map((k, i) => `${col(k)} AS ${keyColumn(i)}`), ...query.sort.map((s, i) => `${col(s.field)}::text AS ${sortValueColumn(i)}`)];
  if (matchedFirst(query)) inner.push(`${T}.${TOTAL_COLUMN}`);
  let page = `SELECT ${inner.join(', ')} FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${orderBy(query.sort)}`;
  params.push(query.limit + 1);
  page += ` LIMIT $${params.length}`;
  if (query.offset) {
    params.push(query.offset);
    page += ` OFFSET $${params.length}`;
  }
  const columns = columnsFor(query.selection).map((c) => `${T}.${ident(c)}`);
  const sortValues = query.sort.map((_, i) => `p.${sortValueColumn(i)}`);
  if (matchedFirst(query)) sortValues.push(`p.${TOTAL_COLUMN}`);
  const on = keys.map((k, i) => `${col(k)} = p.${keyColumn(i)}`).join(' AND ');
  return `SELECT ${[...columns, ...sortValues].join(', ')} FROM (${page}) p JOIN ${readSource(entity, query.selection.language)} ${T} ON ${on} ORDER BY ${orderBy(query.sort)}`;
}

/** The number of records the filters match (the keyset position does not narrow a total). */
export function countSql(query: SearchQuery, params: unknown[]): string {
  const { from, where } = matched(query, params);
  return `SELECT count(*) AS total FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
}
