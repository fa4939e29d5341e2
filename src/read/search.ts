import type { Knex } from 'knex';
import type { Registry } from '../definitions/registry';
import { aggregate, type AggregationAnswers } from './aggregate';
import { withIncludes } from './includes';
import { loadAssociations } from './associations';
import { newNode, toApiRecord } from './records';
import { encodeSearchCursor } from './search-request';
import { fullSelection } from './selection';
import { countSql, matchedFirst, pageSql, sortValueColumn, TOTAL_COLUMN } from './sql/search';
import { withReadSession } from './session';
import { refuse, type ApiRecord, type ReadResult, type SearchQuery } from './types';

export interface SearchResult {
  data: ApiRecord[];
  total?: number;
  /** Present when more records follow: pass it as `after` (with the same sort) for the next page. */
  next?: string;
  /** Present when the request asked for aggregations: Shopware's object of answers by name. */
  aggregations?: AggregationAnswers;
}

/** The answer's keys in a fixed order (data, total, next, aggregations), whichever was computed first. */
function sortedKeys(r: SearchResult): SearchResult {
  const out: SearchResult = { data: r.data };
  if (r.total !== undefined) out.total = r.total;
  if (r.next !== undefined) out.next = r.next;
  if (r.aggregations !== undefined) out.aggregations = r.aggregations;
  return out;
}

/** PostgreSQL "data exception" class: a cursor value that does not cast back to its column type. */
function isDataException(e: unknown): boolean {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('22');
}

/**
 * Runs a validated search: the page, one query per association path, one statement for all aggregations (which
 * counts the total too where it can), a count of its own otherwise; from one snapshot when there is more than one.
 */
export async function search(knex: Knex, registry: Registry, query: SearchQuery): Promise<ReadResult<SearchResult>> {
  // A total counted by the page's own statement needs no snapshot shared with another.
  const consistent = (query.totalCount && !matchedFirst(query)) || query.selection.associations.size > 0 || query.aggregations.length > 0;
  return withReadSession(knex, consistent, async (sql): Promise<ReadResult<SearchResult>> => {
    const params: unknown[] = [];
    let rows: Record<string, unknown>[];
    try {
      rows = (await sql.query(pageSql(query, params), params)).rows;
    } catch (e) {
      if (query.after && isDataException(e)) {
        return refuse({ code: 'CRITERIA_INVALID', detail: 'the cursor does not fit this sort order; pass "next" unchanged', pointer: '/after' });
      }
      throw e;
    }
    const more = rows.length > query.limit;
    if (more) rows = rows.slice(0, query.limit);
    const nodes = rows.map(newNode);
    await loadAssociations(sql, registry, query.selection, nodes);
    const result: SearchResult = { data: nodes.map((n) => toApiRecord(query.selection, n)) };
    if (query.aggregations.length) {
      const frame = { registry, entity: query.entity, language: query.selection.language, filters: query.filters };
      const selectionOf = (entity: SearchQuery['entity']) => withIncludes(fullSelection(entity), query.includes);
      // Without post-filter or grouping, the total is the number of records the aggregations read: counted with them.
      const counted = await aggregate({ sql, frame, selectionOf }, query.aggregations, query.totalCount && !query.postFilters.length && !query.grouping.length);
      result.aggregations = counted.answers;
      if (counted.total !== undefined) result.total = counted.total;
    }
    if (query.totalCount && result.total === undefined && matchedFirst(query)) {
      // An empty page carries no total: it is 0 unless the page lies past the end (then it is counted below).
      const inPage = rows[0]?.[TOTAL_COLUMN];
      if (inPage !== undefined) result.total = Number(inPage);
      else if (!query.offset && !query.after) result.total = 0;
    }
    if (query.totalCount && result.total === undefined) {
      const countParams: unknown[] = [];
      const { rows: counted } = await sql.query<{ total: number }>(countSql(query, countParams), countParams);
      result.total = Number(counted[0]!.total);
    }
    const last = rows[rows.length - 1];
    if (more && last) {
      result.next = encodeSearchCursor(query, query.sort.map((_, i) => (last[sortValueColumn(i)] ?? null) as string | null));
    }
    return { ok: true, value: sortedKeys(result) };
  });
}
