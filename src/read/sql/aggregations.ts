import type { Aggregation, FieldPath } from '../../criteria/aggregations';
import { criteriaToSql } from '../../criteria/sql';
import type { Filter } from '../../criteria/types';
import { ident, type Sql } from '../../db/sql';
import { readSource } from '../../definitions/sql/translated';
import type { Registry } from '../../definitions/registry';
import type { EntityDef } from '../../definitions/types';
import type { DbRow } from '../types';
import { listingSource } from './listing';
import { filteredFields, keysSource } from './source';

/**
 * SQL of aggregations. Every aggregation of one tree (an aggregation and the ones nested in it) reads the same
 * frame: the searched records (`t`, filtered by the search's `filter`, not its `post-filter`) joined to each
 * association path the tree names. A nested aggregation is grouped by the keys of the buckets around it
 * (`__g0`, `__g1`, …): one statement per aggregation, however many buckets.
 */
export interface Frame {
  registry: Registry;
  entity: EntityDef;
  language?: string;
  filters: readonly Filter[];
  /** Field paths of the whole tree: each association or id list among them is joined once. */
  paths: readonly FieldPath[];
}

/** The keys of the enclosing buckets, as SQL over the frame (outermost first). */
export type GroupKeys = readonly string[];

interface Joined {
  from: string;
  /** Whether each (record, value) pair of the one to-many path occurs once (a mapping keyed by both ids, a listing's id array). */
  pairsOnce: boolean;
  /** SQL of each path's value, by path. */
  value: Map<string, string>;
  /** SQL naming the row of the path's target (for de-duplicating what a join repeats), by path. */
  identity: Map<string, string>;
  /** Whether a join repeats searched records (to-many associations, id lists). */
  repeats: boolean;
}

const T = 't';
/** Association name → the column of `m` holding its target ids. */
type Arrays = ReadonlyMap<string, string>;
const NO_ARRAYS: Arrays = new Map();
/** Kinds whose values' text is the same exactly when the values are equal: buckets grouped by value, named after. */
const TEXT_EXACT = new Set(['id', 'fk', 'idList', 'int', 'bool']);
/** The searched records the filters match, computed once per search for all of its aggregations. */
const MATCHED = 'm';

/**
 * The frame's joins, starting from the matched records (`m`, see selectAggregations). `arrays` names the columns of
 * `m` that hold a many-to-many association's target ids (read from the listing): those are unnested instead of
 * joining the mapping table record by record.
 */
function join(frame: Frame, arrays: Arrays = NO_ARRAYS): Joined {
  const { registry, entity, language } = frame;
  const idOf = (e: EntityDef, alias: string) => e.primaryKey.map((k) => `${alias}.${ident(e.fields[k]!.column)}`).join(', ');
  const out: Joined = { from: `${MATCHED} ${T}`, value: new Map(), identity: new Map(), repeats: false, pairsOnce: false };
  const done = new Map<string, string>();
  frame.paths.forEach((p, i) => {
    if (out.value.has(p.path)) return;
    const col = ident(p.field.column);
    if (!p.via) {
      if (p.field.kind !== 'idList') {
        out.value.set(p.path, `${T}.${col}`);
        out.identity.set(p.path, idOf(entity, T));
        return;
      }
      // An id list aggregates by its members.
      const u = `u${i}`;
      out.from += ` LEFT JOIN LATERAL unnest(${T}.${col}) AS ${u}(v) ON true`;
      out.value.set(p.path, `${u}.v`);
      out.identity.set(p.path, `${idOf(entity, T)}, ${u}.v`);
      out.repeats = true;
      return;
    }
    const { association, target, name } = p.via;
    const targetId = target.primaryKey.length === 1 ? target.fields[target.primaryKey[0]!]! : undefined;
    const ownId = idOf(entity, T);
    let alias = done.get(name);
    if (association.type === 'manyToOne') {
      const fk = `${T}.${ident(entity.fields[association.via]!.column)}`;
      // The target's id is the foreign key itself: no join.
      if (p.field === targetId) {
        out.value.set(p.path, fk);
        out.identity.set(p.path, ownId);
        return;
      }
      if (!alias) {
        alias = `a${i}`;
        out.from += ` LEFT JOIN ${readSource(target, language)} ${alias} ON ${alias}.${ident(targetId!.column)} = ${fk}`;
        done.set(name, alias);
      }
      out.value.set(p.path, `${alias}.${col}`);
      out.identity.set(p.path, ownId);
      return;
    }
    out.repeats = true;
    if (association.type === 'oneToMany') {
      if (!alias) {
        alias = `a${i}`;
        out.from += ` LEFT JOIN ${readSource(target, language)} ${alias} ON ${alias}.${ident(target.fields[association.foreignKey]!.column)} = ${ownId}`;
        done.set(name, alias);
      }
      out.value.set(p.path, `${alias}.${col}`);
      out.identity.set(p.path, `${ownId}, ${idOf(target, alias)}`);
      return;
    }
    const mapping = registry.get(association.mapping);
    const m = `m_${name}`;
    const array = arrays.get(name);
    if (!done.has(m)) {
      if (array) out.from += ` LEFT JOIN LATERAL unnest(${T}.${ident(array)}) AS ${ident(m)}(v) ON true`;
      else out.from += ` LEFT JOIN ${ident(mapping.table)} ${ident(m)} ON ${ident(m)}.${ident(mapping.fields[association.localKey]!.column)} = ${ownId}`;
      done.set(m, m);
    }
    const remote = array ? `${ident(m)}.v` : `${ident(m)}.${ident(mapping.fields[association.targetKey]!.column)}`;
    const keyedByBoth = mapping.primaryKey.length === 2 && [association.localKey, association.targetKey].every((k) => mapping.primaryKey.includes(k));
    out.pairsOnce = p.field === targetId && (Boolean(array) || keyedByBoth);
    out.identity.set(p.path, `${ownId}, ${remote}`);
    if (p.field === targetId) {
      out.value.set(p.path, remote);
      return;
    }
    if (!alias) {
      alias = `a${i}`;
      out.from += ` LEFT JOIN ${readSource(target, language)} ${alias} ON ${alias}.${ident(targetId!.column)} = ${remote}`;
      done.set(name, alias);
    }
    out.value.set(p.path, `${alias}.${col}`);
  });
  return out;
}

/** Every field path an aggregation tree names. */
export function treePaths(a: Aggregation): FieldPath[] {
  const own = 'path' in a ? [a.path] : [];
  const nested = 'nested' in a && a.nested ? treePaths(a.nested) : [];
  return [...own, ...nested];
}

function groupColumns(keys: GroupKeys): string[] {
  return keys.map((k, i) => `(${k})::text AS __g${i}`);
}

const GROUP_LIST = (keys: GroupKeys) => keys.map((_, i) => `__g${i}`);

const METRIC_SQL: Record<string, (v: string) => string> = {
  min: (v) => `min(${v}) AS min`,
  max: (v) => `max(${v}) AS max`,
  avg: (v) => `avg(${v})::float8 AS avg`,
  sum: (v) => `sum(${v})::float8 AS sum`,
  count: (v) => `count(DISTINCT ${v}) AS count`,
  stats: (v) => `min(${v}) AS min, max(${v}) AS max, avg(${v})::float8 AS avg, sum(${v})::float8 AS sum`,
};

/** What one statement of an aggregation needs: the frame, the aggregation, the filters of enclosing `filter` aggregations and the keys of enclosing buckets. */
export interface AggregationStatement {
  frame: Frame;
  aggregation: Exclude<Aggregation, { type: 'filter' }>;
  /** Filters of the enclosing filter aggregations, beside the search's own. */
  extra: readonly Filter[];
  groupKeys: GroupKeys;
}

/** SQL of one aggregation over `m`; its rows: `__g0…` (the enclosing buckets' keys as text), then by type —
 * metrics: their values; terms and histogram: `key` (text) and `count`; entity: `key` (the ids to load). */
function aggregationSql(s: AggregationStatement, params: unknown[], arrays: Arrays): string {
  const joined = join(s.frame, arrays);
  const where = s.extra.length ? ` WHERE ${criteriaToSql(s.extra, params, T)}` : '';
  const a = s.aggregation;
  const v = joined.value.get(a.path.path)!;
  const groups = groupColumns(s.groupKeys);
  const groupList = GROUP_LIST(s.groupKeys);
  const groupBy = (extra: string[]) => (groupList.length || extra.length ? ` GROUP BY ${[...groupList, ...extra].join(', ')}` : '');
  const from = ` FROM ${joined.from}${where}`;
  if (a.type === 'terms' || a.type === 'histogram') {
    const key = a.type === 'terms' ? v : `date_trunc('${a.interval}', ${v} AT TIME ZONE 'UTC')`;
    const rowId = `(${s.frame.entity.primaryKey.map((k) => `${T}.${ident(s.frame.entity.fields[k]!.column)}`).join(', ')})`;
    const order =
      a.type === 'histogram' ? 'key_sort ASC' : a.byKey ? `key_sort ${a.order} NULLS LAST` : `count ${a.order}, key_sort ASC NULLS LAST`;
    // Each record counts once per bucket. Where the joins cannot repeat a (record, value) pair — none repeats a
    // record, or the only one is a mapping keyed by both ids — counting rows says the same as counting distinct
    // records, without sorting every group's records (the larger part of a category facet's cost).
    const single = new Set(s.frame.paths.map((p) => p.path)).size === 1;
    const count = !joined.repeats || (single && joined.pairsOnce) ? 'count(*)' : `count(DISTINCT ${rowId})`;
    const notNull = a.type === 'histogram' ? `${where ? ' AND' : ' WHERE'} ${v} IS NOT NULL` : '';
    // Grouped by the value alone where its text follows from it (ids, integers): hashing a uuid beats hashing its text.
    const inner =
      a.type === 'terms' && TEXT_EXACT.has(a.path.field.kind)
        ? `SELECT g.*, g.key_sort::text AS key FROM (SELECT ${[...groups, `(${key}) AS key_sort`, `${count} AS count`].join(', ')}${from}${notNull}${groupBy(['key_sort'])}) g`
        : `SELECT ${[...groups, `(${key})::text AS key`, `(${key}) AS key_sort`, `${count} AS count`].join(', ')}${from}${notNull}${groupBy(['key', 'key_sort'])}`;
    if (a.type === 'histogram') return `${inner} ORDER BY ${[...groupList, order].join(', ')}`;
    if (!groupList.length) return `${inner} ORDER BY ${order} LIMIT ${a.limit}`;
    return `SELECT * FROM (SELECT x.*, row_number() OVER (PARTITION BY ${groupList.join(', ')} ORDER BY ${order}) AS __n FROM (${inner}) x) y
             WHERE __n <= ${a.limit} ORDER BY ${[...groupList, order].join(', ')}`;
  }
  if (a.type === 'entity') return `SELECT DISTINCT ${[...groups, `${v} AS key`].join(', ')}${from}${where ? ' AND' : ' WHERE'} ${v} IS NOT NULL`;
  const metric = METRIC_SQL[a.type]!;
  if (!joined.repeats) return `SELECT ${[...groups, metric(v)].join(', ')}${from}${groupBy([])}`;
  // A to-many join repeats a record (or a related one) once per joined row: aggregate each value once per record
  // and related record, as if nothing were joined.
  const distinct = `SELECT DISTINCT ${[...groups, joined.identity.get(a.path.path)!, `${v} AS __v`].join(', ')}${from}`;
  return `SELECT ${[...groupList, metric('__v')].join(', ')} FROM (${distinct}) d${groupBy([])}`;
}

/** The fields of the searched entity the statements read from `m`: keys, aggregated fields, joined keys, filtered fields. */
function matchedFields(statements: readonly AggregationStatement[]): Set<string> {
  const entity = statements[0]!.frame.entity;
  const fields = new Set(entity.primaryKey);
  for (const s of statements) {
    for (const p of s.frame.paths) {
      if (!p.via) fields.add(p.field.name);
      else if (p.via.association.type === 'manyToOne') fields.add(p.via.association.via);
    }
    for (const name of filteredFields(s.extra)) fields.add(name);
  }
  return fields;
}

/** The many-to-many associations the statements aggregate through. */
function manyToManyPaths(statements: readonly AggregationStatement[]): Set<string> {
  return new Set(statements.flatMap((s) => s.frame.paths.flatMap((p) => (p.via?.association.type === 'manyToMany' ? [p.via.name] : []))));
}

export interface AggregationsQuery {
  /** The searched records: entity, language and the search's filters (not its post-filters). */
  frame: Omit<Frame, 'paths'>;
  statements: readonly AggregationStatement[];
  /** Also count the matched records (the search's total, when no post-filter or grouping changes it). */
  total: boolean;
}

/**
 * Every aggregation of a search in one statement: the matched records are found once (`m`, holding only the
 * columns the aggregations read), each aggregation's rows come back as a JSON list. Answers the rows per
 * statement, in order, and the count of `m` when asked.
 */
export async function selectAggregations(sql: Sql, q: AggregationsQuery): Promise<{ rows: DbRow[][]; total?: number }> {
  const params: unknown[] = [];
  const { entity, language } = q.frame;
  const fields = matchedFields(q.statements);
  // A field kept in a table of its own is not a column of the records: its filter looks it up by their key.
  const cols = [...fields].filter((f) => !entity.fields[f]!.sideTable).map((f) => `${T}.${ident(entity.fields[f]!.column)}`);
  // A category's records (and their option ids) from the listing table when it holds every field read here.
  const listing = listingSource({ entity, language, filters: q.frame.filters, fields }, params);
  const filters = listing ? listing.filters : q.frame.filters;
  let arrays: Arrays = NO_ARRAYS;
  // A nested aggregation's bucket keys were named after the mapping join (pathValue): it keeps that join.
  if (listing && q.statements.every((s) => !s.groupKeys.length)) {
    arrays = new Map([...manyToManyPaths(q.statements)].flatMap((a) => (listing.arrays.has(a) ? [[a, listing.arrays.get(a)!] as const] : [])));
    for (const c of arrays.values()) cols.push(`${T}.${ident(c)}`);
  }
  const where = filters.length ? ` WHERE ${criteriaToSql(filters, params, T)}` : '';
  const source = listing ? listing.source : keysSource(entity, language, filteredFields(filters));
  const parts = q.statements.map((s, i) => `(SELECT coalesce(json_agg(x), '[]'::json) FROM (${aggregationSql(s, params, arrays)}) x) AS a${i}`);
  if (q.total) parts.push(`(SELECT count(*) FROM ${MATCHED}) AS total`);
  const text = `WITH ${MATCHED} AS MATERIALIZED (SELECT ${cols.join(', ')} FROM ${source} ${T}${where}) SELECT ${parts.join(', ')}`;
  const { rows } = await sql.query(text, params);
  const row = rows[0]!;
  return { rows: q.statements.map((_, i) => row[`a${i}`] as DbRow[]), total: q.total ? Number(row.total) : undefined };
}

/** The SQL value of a path in the frame (an enclosing bucket's key for its nested aggregations). */
export function pathValue(frame: Frame, path: FieldPath, interval?: string): string {
  const v = join(frame).value.get(path.path)!;
  return interval ? `date_trunc('${interval}', ${v} AT TIME ZONE 'UTC')` : v;
}
