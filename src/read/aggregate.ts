import type { Aggregation, FieldPath } from '../criteria/aggregations';
import type { Filter } from '../criteria/types';
import type { Sql } from '../db/sql';
import { toApiId } from '../definitions/ids';
import { newNode, toApiRecord } from './records';
import { fullSelection, inLanguage } from './selection';
import { pathValue, selectAggregations, treePaths, type AggregationStatement, type Frame } from './sql/aggregations';
import { selectRecordsByIds } from './sql/get';
import type { ApiRecord, DbRow, Selection } from './types';

/** The answer of every aggregation of a search, by name (Shopware's `aggregations` object). */
export type AggregationAnswers = Record<string, unknown>;

export interface AggregateContext {
  sql: Sql;
  /** The searched records: entity, language, the search's `filter` (not its `post-filter`). */
  frame: Omit<Frame, 'paths'>;
  /** How a record of another entity is answered (`includes` applied); default: every readable field. */
  selectionOf?: (entity: Frame['entity']) => Selection;
}

/** Results of one aggregation, by the keys of its enclosing buckets (a JSON list of their texts). */
type ByGroup = Map<string, unknown>;

interface Level {
  frame: Frame;
  extra: readonly Filter[];
  groupKeys: readonly string[];
}

const groupOf = (row: DbRow, depth: number) => JSON.stringify(Array.from({ length: depth }, (_, i) => row[`__g${i}`] ?? null));

/** Every statement an aggregation tree needs, in the order `evaluate` reads their rows (pre-order). */
function plan(a: Aggregation, level: Level, out: AggregationStatement[]): void {
  if (a.type === 'filter') return plan(a.nested, { ...level, extra: [...level.extra, ...a.filters] }, out);
  out.push({ frame: level.frame, aggregation: a, extra: level.extra, groupKeys: level.groupKeys });
  if ((a.type === 'terms' || a.type === 'histogram') && a.nested) {
    plan(a.nested, { ...level, groupKeys: [...level.groupKeys, pathValue(level.frame, a.path, a.type === 'histogram' ? a.interval : undefined)] }, out);
  }
}

/**
 * Runs every aggregation (all in one statement, see selectAggregations; an entity aggregation one more for its
 * records) and shapes Shopware's answer. With `total`, the count of the matched records comes along.
 */
export async function aggregate(ctx: AggregateContext, aggregations: readonly Aggregation[], total = false): Promise<{ answers: AggregationAnswers; total?: number }> {
  const levels = aggregations.map((a): Level => ({ frame: { ...ctx.frame, paths: treePaths(a) }, extra: [], groupKeys: [] }));
  const statements: AggregationStatement[] = [];
  aggregations.forEach((a, i) => plan(a, levels[i]!, statements));
  const result = await selectAggregations(ctx.sql, { frame: ctx.frame, statements, total });
  let next = 0;
  const rowsOf = () => result.rows[next++] ?? [];
  const answers: AggregationAnswers = {};
  for (const [i, a] of aggregations.entries()) {
    const { name, byGroup } = await evaluate(ctx, a, levels[i]!, rowsOf);
    answers[name] = byGroup.get('[]') ?? empty(innermost(a));
  }
  return { answers, total: result.total };
}

/** A filter aggregation answers under the name of the aggregation it narrows. */
function innermost(a: Aggregation): Exclude<Aggregation, { type: 'filter' }> {
  return a.type === 'filter' ? innermost(a.nested) : a;
}

function empty(a: Exclude<Aggregation, { type: 'filter' }>): unknown {
  switch (a.type) {
    case 'terms':
    case 'histogram':
      return { buckets: [] };
    case 'entity':
      return { entities: [] };
    case 'count':
      return { count: 0 };
    case 'stats':
      return { min: null, max: null, avg: null, sum: null };
    default:
      return { [a.type]: null };
  }
}

/** Shapes one aggregation (and its nested ones) from the rows `rowsOf` hands out in plan order. */
async function evaluate(ctx: AggregateContext, a: Aggregation, level: Level, rowsOf: () => DbRow[]): Promise<{ name: string; byGroup: ByGroup }> {
  if (a.type === 'filter') return evaluate(ctx, a.nested, { ...level, extra: [...level.extra, ...a.filters] }, rowsOf);
  const rows = rowsOf();
  const depth = level.groupKeys.length;
  const byGroup: ByGroup = new Map();
  if (a.type === 'terms' || a.type === 'histogram') {
    const nested = a.nested
      ? await evaluate(ctx, a.nested, { ...level, groupKeys: [...level.groupKeys, pathValue(level.frame, a.path, a.type === 'histogram' ? a.interval : undefined)] }, rowsOf)
      : undefined;
    for (const row of rows) {
      const g = groupOf(row, depth);
      const bucket: Record<string, unknown> = {
        key: a.type === 'histogram' ? row.key : apiKey(a.path, row.key),
        count: Number(row.count),
      };
      if (nested && a.nested) {
        const inner = JSON.stringify([...(JSON.parse(g) as unknown[]), row.key ?? null]);
        bucket[nested.name] = nested.byGroup.get(inner) ?? empty(innermost(a.nested));
      }
      let result = byGroup.get(g) as { buckets: unknown[] } | undefined;
      if (!result) byGroup.set(g, (result = { buckets: [] }));
      result.buckets.push(bucket);
    }
    return { name: a.name, byGroup };
  }
  if (a.type === 'entity') {
    const ids = [...new Set(rows.map((r) => String(r.key)))].sort();
    const selection = inLanguage(ctx.selectionOf?.(a.definition) ?? fullSelection(a.definition), level.frame.language);
    const records = new Map<string, ApiRecord>();
    if (ids.length) {
      const idColumn = a.definition.fields[a.definition.primaryKey[0]!]!.column;
      for (const row of await selectRecordsByIds(ctx.sql, selection, ids)) records.set(String(row[idColumn]), toApiRecord(selection, newNode(row)));
    }
    for (const row of rows) {
      const g = groupOf(row, depth);
      let result = byGroup.get(g) as { entities: ApiRecord[] } | undefined;
      if (!result) byGroup.set(g, (result = { entities: [] }));
      const record = records.get(String(row.key));
      if (record) result.entities.push(record);
    }
    for (const result of byGroup.values()) (result as { entities: ApiRecord[] }).entities.sort((x, y) => String(x.id).localeCompare(String(y.id)));
    return { name: a.name, byGroup };
  }
  for (const row of rows) byGroup.set(groupOf(row, depth), metric(a.type, a.path, row));
  return { name: a.name, byGroup };
}

/** A bucket key as the API spells the value: ids as 32 hex, date-times in ISO 8601, everything else as text. */
function apiKey(path: FieldPath, key: unknown): string | null {
  if (key === null || key === undefined) return null;
  const text = String(key);
  switch (path.field.kind) {
    case 'id':
    case 'fk':
    case 'idList':
      return toApiId(text);
    case 'datetime':
      return new Date(text).toISOString();
    default:
      return text;
  }
}

function metricValue(path: FieldPath, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  // Rows come back as JSON: a date-time is PostgreSQL's text of it.
  if (path.field.kind === 'datetime') return new Date(String(v)).toISOString();
  if (path.field.kind === 'int' || path.field.kind === 'float' || typeof v === 'number') return Number(v);
  if (path.field.kind === 'id' || path.field.kind === 'fk') return toApiId(String(v));
  return v;
}

function metric(type: string, path: FieldPath, row: DbRow): unknown {
  switch (type) {
    case 'count':
      return { count: Number(row.count) };
    case 'stats':
      return { min: metricValue(path, row.min), max: metricValue(path, row.max), avg: metricValue(path, row.avg), sum: metricValue(path, row.sum) };
    default:
      return { [type]: metricValue(path, row[type]) };
  }
}
