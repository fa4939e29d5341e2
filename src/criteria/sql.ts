import { ident } from '../db/sql';
import { kindOf } from '../definitions/kinds';
import { whereSideTable } from '../definitions/sql/side-table';
import type { Filter } from './types';

const RANGE_SQL = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => '\\' + c);
}

/**
 * A validated filter list → one SQL condition with $n placeholders appended to `params`.
 * Columns come from definitions; every value is a parameter.
 */
export function criteriaToSql(filters: readonly Filter[], params: unknown[], alias = ''): string {
  return filters.map((f) => `(${one(f, params, alias)})`).join(' AND ');
}

function one(f: Filter, params: unknown[], alias: string): string {
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if ('queries' in f) {
    const inner = f.queries.map((q) => `(${one(q, params, alias)})`).join(f.operator === 'or' ? ' OR ' : ' AND ');
    return f.type === 'not' ? `NOT (${inner})` : inner;
  }
  return leaf(f, p, alias);
}

function leaf(f: Exclude<Filter, { type: 'not' | 'multi' }>, p: (v: unknown) => string, alias: string): string {
  const col = (alias ? `${alias}.` : '') + ident(f.field.column);
  const type = kindOf(f.field).sqlType;
  if (f.field.kind === 'idList') {
    // Membership: the list holds the id (equals) or shares one with the values (equalsAny, overlap).
    if (f.type === 'equals') return f.value === null ? `${col} IS NULL` : `${col} @> ARRAY[${p(f.value)}::uuid]`;
    if (f.type === 'equalsAny') return `${col} && ${p(f.values)}::uuid[]`;
  }
  switch (f.type) {
    case 'term': {
      // 'simple': no stemming or stop words, the same configuration the search vector is built with.
      const query = `plainto_tsquery('simple', ${p(f.value)})`;
      // A vector in a table of its own (product_search) is matched there, by the records' keys.
      if (f.field.sideTable) return whereSideTable(f.field, f.field.sideTable, alias, (c) => `${c} @@ ${query}`);
      return `${col} @@ ${query}`;
    }
    case 'equals':
      return f.value === null ? `${col} IS NULL` : `${col} = ${p(f.value)}::${type}`;
    case 'equalsAny':
      return `${col} = ANY(${p(f.values)}::${type}[])`;
    case 'contains':
      return `${col} ILIKE ${p('%' + likeEscape(f.value) + '%')}`;
    case 'prefix':
      return `${col} ILIKE ${p(likeEscape(f.value) + '%')}`;
    case 'suffix':
      return `${col} ILIKE ${p('%' + likeEscape(f.value))}`;
    case 'range':
      return Object.entries(f.bounds)
        .map(([op, v]) => `${col} ${RANGE_SQL[op as keyof typeof RANGE_SQL]} ${p(v)}::${type}`)
        .join(' AND ');
  }
}
