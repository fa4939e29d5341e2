import { parseAggregations } from '../criteria/aggregations';
import { parseCriteria } from '../criteria/parse';
import { parseIncludes, withIncludes } from './includes';
import { isObject } from '../definitions/json';
import type { Filter } from '../criteria/types';
import type { Registry } from '../definitions/registry';
import type { EntityDef, FieldDef } from '../definitions/types';
import { pointer, showValue, type Problem } from '../errors';
import { decodeCursor, encodeCursor } from './cursor';
import { buildSelection } from './selection';
import type { SearchQuery, SortKey, SortOrder } from './types';

export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 500;
const MAX_SORT_KEYS = 8;
/** Kinds with a total order PostgreSQL can sort and compare a keyset position against. */
const SORTABLE = new Set(['id', 'fk', 'string', 'text', 'int', 'float', 'bool', 'datetime']);
const KNOWN_KEYS = new Set([
  'filter', 'post-filter', 'sort', 'limit', 'page', 'after', 'associations', 'includes', 'fields', 'aggregations', 'grouping', 'total-count-mode', 'ids', 'term',
]);
/** Fields a grouping may name: those PostgreSQL can compare for DISTINCT ON. */
const GROUPABLE = new Set(['id', 'fk', 'string', 'text', 'int', 'float', 'bool', 'datetime']);

export type SearchRequestResult = { ok: true; query: SearchQuery } | { ok: false; problems: Problem[] };


const bad = (detail: string, at: string): Problem => ({ code: 'CRITERIA_INVALID', detail, pointer: at });

/**
 * Validates a search body against an entity. Every problem is collected (with a pointer into the body) before
 * anything is queried; nothing of the body reaches SQL except as a typed parameter.
 */
export function parseSearchRequest(registry: Registry, entity: EntityDef, body: unknown): SearchRequestResult {
  if (body === undefined || body === null) body = {};
  if (!isObject(body)) return { ok: false, problems: [bad('expected a JSON object (criteria)', '')] };
  const problems: Problem[] = [];
  for (const key of Object.keys(body)) {
    if (!KNOWN_KEYS.has(key)) problems.push(bad(`unknown key "${key}" (${[...KNOWN_KEYS].join(', ')})`, pointer(key)));
  }

  const filters = parseFilters(entity, body, problems);
  const sort = parseSort(entity, body.sort, problems);
  const limit = parseInteger(body.limit, '/limit', [1, MAX_LIMIT], problems) ?? DEFAULT_LIMIT;
  const page = parseInteger(body.page, '/page', [1, Number.MAX_SAFE_INTEGER], problems);
  let after: (string | null)[] | undefined;
  if (body.after !== undefined) {
    if (page !== undefined) problems.push(bad('"after" (keyset) and "page" (offset) cannot be combined; use one of them', '/after'));
    else if (sort) after = decodeSearchCursor(entity, sort, body.after, problems);
  }
  const totalCount = parseTotalCountMode(body['total-count-mode'], problems);
  const selection = buildSelection(registry, entity, { associations: body.associations, fields: body.fields });
  if (!selection.ok) problems.push(...selection.problems);
  const postFilters = parseList(body['post-filter'], (input) => parseCriteria(entity, input, '/post-filter'), problems);
  const aggregations = parseList(body.aggregations, (input) => parseAggregations(registry, entity, input, '/aggregations'), problems);
  const includes = parseIncludes(registry, body.includes, '/includes');
  if (!includes.ok) problems.push(...includes.problems);
  const grouping = parseGrouping(entity, body.grouping, problems);

  if (problems.length || !filters || !sort || !selection.ok || !includes.ok || !postFilters || !aggregations || !grouping) return { ok: false, problems };
  return {
    ok: true,
    query: {
      entity,
      filters,
      postFilters,
      aggregations,
      grouping,
      includes: includes.includes,
      sort,
      limit,
      offset: page === undefined ? 0 : (page - 1) * limit,
      after,
      totalCount,
      selection: withIncludes(selection.selection, includes.includes),
    },
  };
}

/** `filter` (the criteria list of the sync API), plus Shopware's `ids` and top-level `term`, all combined with AND. */
function parseFilters(entity: EntityDef, body: Record<string, unknown>, problems: Problem[]): Filter[] | undefined {
  const out: Filter[] = [];
  const add = (input: unknown, at: string) => {
    const r = parseCriteria(entity, input, at);
    if (r.ok) out.push(...r.filters);
    else problems.push(...r.problems);
    return r.ok;
  };
  let ok = true;
  // An absent or empty filter list selects everything (unlike delete, where that would be a mistake).
  if (body.filter !== undefined && !(Array.isArray(body.filter) && body.filter.length === 0)) ok = add(body.filter, '/filter') && ok;
  if (body.ids !== undefined) {
    if (entity.primaryKey.length !== 1) {
      problems.push(bad(`${entity.name} has a composite key; filter by its key fields instead of "ids"`, '/ids'));
      ok = false;
    } else if (!Array.isArray(body.ids) || !body.ids.length) {
      problems.push(bad('expected a non-empty list of ids', '/ids'));
      ok = false;
    } else {
      // Reuses equalsAny's validation; pointers are rewritten from the synthetic filter back to /ids/<n>.
      const r = parseCriteria(entity, [{ type: 'equalsAny', field: entity.primaryKey[0], value: body.ids }], '');
      if (r.ok) out.push(...r.filters);
      else {
        problems.push(...r.problems.map((p) => ({ ...p, pointer: (p.pointer ?? '').replace(/^\/0\/value/, '/ids') })));
        ok = false;
      }
    }
  }
  if (body.term !== undefined) {
    const r = parseCriteria(entity, [{ type: 'term', value: body.term }], '');
    if (r.ok) out.push(...r.filters);
    else {
      problems.push(...r.problems.map((p) => ({ ...p, pointer: '/term' })));
      ok = false;
    }
  }
  return ok ? out : undefined;
}

/** An optional list: absent or [] is none; otherwise what `parse` makes of it, or undefined after a problem. */
function parseList<T>(
  input: unknown,
  parse: (input: unknown) => { ok: true; filters: T[] } | { ok: true; aggregations: T[] } | { ok: false; problems: Problem[] },
  problems: Problem[],
): T[] | undefined {
  if (input === undefined || (Array.isArray(input) && input.length === 0)) return [];
  const r = parse(input);
  if (!r.ok) {
    problems.push(...r.problems);
    return undefined;
  }
  return 'filters' in r ? r.filters : r.aggregations;
}

/** Shopware's `grouping`: field names; one record per distinct combination of their values (the first in the sort order). */
function parseGrouping(entity: EntityDef, input: unknown, problems: Problem[]): FieldDef[] | undefined {
  if (input === undefined) return [];
  if (!Array.isArray(input)) {
    problems.push(bad('expected a list of field names', '/grouping'));
    return undefined;
  }
  const out: FieldDef[] = [];
  input.forEach((name, i) => {
    const field = typeof name === 'string' ? entity.fields[name] : undefined;
    if (!field || !field.readable) problems.push(bad(`${entity.name} has no field ${showValue(name)} to group by`, pointer('grouping', i)));
    else if (!GROUPABLE.has(field.kind)) problems.push(bad(`${field.name} (${field.kind}) cannot be grouped by`, pointer('grouping', i)));
    else out.push(field);
  });
  return out.length === input.length ? out : undefined;
}

/** The requested order, then the primary key fields not already in it: every position becomes unique. */
function parseSort(entity: EntityDef, input: unknown, problems: Problem[]): SortKey[] | undefined {
  const keys: SortKey[] = [];
  let ok = true;
  if (input !== undefined) {
    if (!Array.isArray(input)) {
      problems.push(bad('expected a list of { "field": …, "order": "ASC" | "DESC" }', '/sort'));
      return undefined;
    }
    if (input.length > MAX_SORT_KEYS) {
      problems.push(bad(`at most ${MAX_SORT_KEYS} sort keys`, '/sort'));
      return undefined;
    }
    input.forEach((s, i) => {
      const at = pointer('sort', i);
      if (!isObject(s)) {
        problems.push(bad('expected { "field": …, "order": "ASC" | "DESC" }', at));
        ok = false;
        return;
      }
      for (const key of Object.keys(s)) {
        if (key !== 'field' && key !== 'order' && key !== 'naturalSorting') {
          problems.push(bad(`unknown key "${key}" (field, order)`, at + pointer(key)));
          ok = false;
        }
      }
      const field: FieldDef | undefined = typeof s.field === 'string' ? entity.fields[s.field] : undefined;
      if (!field || !field.readable) {
        problems.push(bad(`${entity.name} has no field ${showValue(s.field)} to sort by`, at + '/field'));
        ok = false;
        return;
      }
      if (!SORTABLE.has(field.kind)) {
        problems.push(bad(`${field.name} (${field.kind}) cannot be sorted by`, at + '/field'));
        ok = false;
        return;
      }
      if (keys.some((k) => k.field.name === field.name)) {
        problems.push(bad(`sorted by ${field.name} twice`, at + '/field'));
        ok = false;
        return;
      }
      const order = s.order === undefined ? 'ASC' : typeof s.order === 'string' ? s.order.toUpperCase() : '';
      if (order !== 'ASC' && order !== 'DESC') {
        problems.push(bad(`order must be "ASC" or "DESC", got ${showValue(s.order)}`, at + '/order'));
        ok = false;
        return;
      }
      keys.push({ field, order: order as SortOrder, notNull: entity.primaryKey.includes(field.name) });
    });
  }
  if (!ok) return undefined;
  for (const k of entity.primaryKey) {
    if (!keys.some((s) => s.field.name === k)) keys.push({ field: entity.fields[k]!, order: 'ASC', notNull: true });
  }
  return keys;
}

function parseInteger(v: unknown, at: string, [min, max]: readonly [number, number], problems: Problem[]): number | undefined {
  if (v === undefined) return undefined;
  // Shopware clients send numbers as strings in query-like bodies; accept digits only.
  const n = typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    problems.push(bad(`expected an integer between ${min} and ${max}, got ${showValue(v)}`, at));
    return undefined;
  }
  return n;
}

function parseTotalCountMode(v: unknown, problems: Problem[]): boolean {
  // Shopware's numeric modes: 0 none, 1 exact. ("next-pages" is what `next` already answers.)
  if (v === undefined || v === 'none' || v === 0) return false;
  if (v === 'exact' || v === 1) return true;
  problems.push(bad(`expected "none" or "exact", got ${showValue(v)}`, '/total-count-mode'));
  return false;
}

/** Identifies an order; a cursor made under another order would name a position in a different sequence. */
function sortSignature(entity: EntityDef, sort: readonly SortKey[]): string {
  return `${entity.name}:${sort.map((s) => `${s.field.name}:${s.order}`).join(',')}`;
}

/** `next`: the sort values of the last record answered (PostgreSQL text, exact for every sortable kind). */
export function encodeSearchCursor(query: SearchQuery, values: readonly (string | null)[]): string {
  return encodeCursor({ o: sortSignature(query.entity, query.sort), v: values });
}

function decodeSearchCursor(entity: EntityDef, sort: readonly SortKey[], input: unknown, problems: Problem[]): (string | null)[] | undefined {
  const decoded = typeof input === 'string' ? decodeCursor(input) : undefined;
  const valid =
    isObject(decoded) &&
    typeof decoded.o === 'string' &&
    Array.isArray(decoded.v) &&
    decoded.v.every((x) => x === null || typeof x === 'string');
  if (!valid) {
    problems.push(bad('not a cursor of this API; pass the "next" of a previous answer unchanged', '/after'));
    return undefined;
  }
  const values = decoded.v as (string | null)[];
  if (decoded.o !== sortSignature(entity, sort) || values.length !== sort.length) {
    problems.push(bad('the cursor was made for another entity or sort order; send the same "sort" as the request that answered it', '/after'));
    return undefined;
  }
  return values;
}
