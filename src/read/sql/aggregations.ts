import type { Aggregation, FieldPath } from '../../criteria/aggregations';
import { criteriaToSql } from '../../criteria/sql';
import type { Filter } from '../../criteria/types';
import { ident, type Sql } from '../../db/sql';
import { readSource } from '../../db/translated';
import type { Registry } from '../../definitions/registry';
import type { EntityDef } from '../../definitions/types';
import type { DbRow } from '../types';

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
  /** SQL of each path's value, by path. */
  value: Map<string, string>;
  /** SQL naming the row of the path's target (for de-duplicating what a join repeats), by path. */
  identity: Map<string, string>;
  /** Whether a join repeats searched records (to-many associations, id lists). */
  repeats: boolean;
}

const T = 't';

function join(frame: Frame): Joined {
  const { registry, entity, language } = frame;
  const idOf = (e: EntityDef, alias: string) => e.primaryKey.map((k) => `${alias}.${ident(e.fields[k]!.column)}`).join(', ');
  const out: Joined = { from: `${readSource(entity, language)} ${T}`, value: new Map(), identity: new Map(), repeats: false };
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
    if (!done.has(m)) {
      out.from += ` LEFT JOIN ${ident(mapping.table)} ${ident(m)} ON ${ident(m)}.${ident(mapping.fields[association.localKey]!.column)} = ${ownId}`;
      done.set(m, m);
    }
    const remote = `${ident(m)}.${ident(mapping.fields[association.targetKey]!.column)}`;
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

/**
 * Rows of one aggregation: `__g0…` (the enclosing buckets' keys as text), then by type — metrics: their values;
 * terms and histogram: `key` (text) and `count`; entity: `key` (the ids to load).
 */
export async function selectAggregation(sql: Sql, s: AggregationStatement): Promise<DbRow[]> {
  const joined = join(s.frame);
  const params: unknown[] = [];
  const filters = [...s.frame.filters, ...s.extra];
  const where = filters.length ? ` WHERE ${criteriaToSql(filters, params, T)}` : '';
  const a = s.aggregation;
  const v = joined.value.get(a.path.path)!;
  const groups = groupColumns(s.groupKeys);
  const groupList = GROUP_LIST(s.groupKeys);
  const groupBy = (extra: string[]) => (groupList.length || extra.length ? ` GROUP BY ${[...groupList, ...extra].join(', ')}` : '');
  const from = ` FROM ${joined.from}${where}`;
  let text: string;
  if (a.type === 'terms' || a.type === 'histogram') {
    const key = a.type === 'terms' ? v : `date_trunc('${a.interval}', ${v} AT TIME ZONE 'UTC')`;
    const rowId = `(${s.frame.entity.primaryKey.map((k) => `${T}.${ident(s.frame.entity.fields[k]!.column)}`).join(', ')})`;
    const order =
      a.type === 'histogram' ? 'key_sort ASC' : a.byKey ? `key_sort ${a.order} NULLS LAST` : `count ${a.order}, key_sort ASC NULLS LAST`;
    const limited = a.type === 'terms' ? a.limit : undefined;
    const inner =
      `SELECT ${[...groups, `(${key})::text AS key`, `(${key}) AS key_sort`, `count(DISTINCT ${rowId}) AS count`].join(', ')}${from}` +
      (a.type === 'histogram' ? `${where ? ' AND' : ' WHERE'} ${v} IS NOT NULL` : '') +
      groupBy(['key', 'key_sort']);
    if (limited === undefined) text = `${inner} ORDER BY ${[...groupList, order].join(', ')}`;
    else if (!groupList.length) text = `${inner} ORDER BY ${order} LIMIT ${limited}`;
    else {
      text = `SELECT * FROM (SELECT x.*, row_number() OVER (PARTITION BY ${groupList.join(', ')} ORDER BY ${order}) AS __n FROM (${inner}) x) y
               WHERE __n <= ${limited} ORDER BY ${[...groupList, order].join(', ')}`;
    }
  } else if (a.type === 'entity') {
    text = `SELECT DISTINCT ${[...groups, `${v} AS key`].join(', ')}${from}${where ? ' AND' : ' WHERE'} ${v} IS NOT NULL`;
  } else {
    const metric = METRIC_SQL[a.type]!;
    if (!joined.repeats) text = `SELECT ${[...groups, metric(v)].join(', ')}${from}${groupBy([])}`;
    else {
      // A to-many join repeats a record (or a related one) once per joined row: aggregate each value once per
      // record and related record, as if nothing were joined.
      const distinct = `SELECT DISTINCT ${[...groups, joined.identity.get(a.path.path)!, `${v} AS __v`].join(', ')}${from}`;
      text = `SELECT ${[...groupList, metric('__v')].join(', ')} FROM (${distinct}) d${groupBy([])}`;
    }
  }
  const { rows } = await sql.query(text, params);
  return rows;
}

/** The SQL value of a path in the frame (an enclosing bucket's key for its nested aggregations). */
export function pathValue(frame: Frame, path: FieldPath, interval?: string): string {
  const v = join(frame).value.get(path.path)!;
  return interval ? `date_trunc('${interval}', ${v} AT TIME ZONE 'UTC')` : v;
}
