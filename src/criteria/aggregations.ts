import { isObject } from '../definitions/json';
import type { Registry } from '../definitions/registry';
import type { AssociationDef, EntityDef, FieldDef } from '../definitions/types';
import { pointer, showValue, type Problem } from '../errors';
import { parseCriteria } from './parse';
import type { Filter } from './types';

/**
 * Shopware's aggregations over the records a search's `filter` matches: metrics (min, max, avg, sum, count,
 * stats), buckets (terms, histogram) that may hold one nested aggregation each, `filter` (narrows its nested
 * aggregation) and `entity` (the records a foreign key names).
 */

/** A field of the searched entity, or of an entity one association away (`manufacturer.name`, `properties.id`). */
export interface FieldPath {
  /** The path as given, for messages. */
  path: string;
  field: FieldDef;
  /** The association the field is reached through, absent for a field of the searched entity. */
  via?: { name: string; association: AssociationDef; target: EntityDef };
}

export type MetricType = 'min' | 'max' | 'avg' | 'sum' | 'count' | 'stats';
export type HistogramInterval = 'minute' | 'hour' | 'day' | 'week' | 'month' | 'quarter' | 'year';

export type Aggregation =
  | { name: string; type: MetricType; path: FieldPath }
  | { name: string; type: 'terms'; path: FieldPath; limit: number; byKey: boolean; order: 'ASC' | 'DESC'; nested?: Aggregation }
  | { name: string; type: 'histogram'; path: FieldPath; interval: HistogramInterval; nested?: Aggregation }
  | { name: string; type: 'filter'; filters: Filter[]; nested: Aggregation }
  | { name: string; type: 'entity'; path: FieldPath; definition: EntityDef };

export const AGGREGATION_TYPES = ['terms', 'min', 'max', 'avg', 'sum', 'count', 'stats', 'histogram', 'filter', 'entity'] as const;
export const HISTOGRAM_INTERVALS: readonly HistogramInterval[] = ['minute', 'hour', 'day', 'week', 'month', 'quarter', 'year'];
/** At most this many aggregations per request, nested ones included: each costs a query. */
export const MAX_AGGREGATIONS = 20;
/** Buckets a terms aggregation answers at most (and by default). */
export const MAX_BUCKETS = 1000;
/** Nested aggregations go at most this deep (a terms in a terms in a filter …). */
const MAX_AGGREGATION_DEPTH = 4;

const NUMERIC = new Set(['int', 'float']);
const ORDERED = new Set(['int', 'float', 'datetime', 'string', 'text']);
const GROUPABLE = new Set(['id', 'fk', 'string', 'text', 'int', 'float', 'bool', 'datetime', 'idList']);

/** The keys each type takes beside name and type. */
const KEYS: Readonly<Record<string, readonly string[]>> = {
  terms: ['field', 'limit', 'sort', 'aggregation'],
  histogram: ['field', 'interval', 'aggregation'],
  filter: ['filter', 'aggregation'],
  entity: ['field', 'definition'],
};

export type AggregationsResult = { ok: true; aggregations: Aggregation[] } | { ok: false; problems: Problem[] };

/** Resolves a field path of `entity`: `name`, or `<association>.<field>` one association away. */
export function resolveFieldPath(registry: Registry, entity: EntityDef, path: string): FieldPath | undefined {
  const parts = path.split('.');
  // Shopware also accepts the entity's own name as a prefix ("product.stock").
  if (parts.length > 1 && parts[0] === entity.name) parts.shift();
  if (parts.length === 1) {
    const field = entity.fields[parts[0]!];
    return field?.readable ? { path, field } : undefined;
  }
  if (parts.length !== 2) return undefined;
  const association = entity.associations[parts[0]!];
  if (!association) return undefined;
  const target = registry.get(association.entity);
  const field = target.fields[parts[1]!];
  return field?.readable ? { path, field, via: { name: parts[0]!, association, target } } : undefined;
}

/** Validates `aggregations` (a list) against the searched entity; every problem points into the body. */
export function parseAggregations(registry: Registry, entity: EntityDef, input: unknown, at: string): AggregationsResult {
  const problems: Problem[] = [];
  const bad = (where: string, detail: string) => void problems.push({ code: 'CRITERIA_INVALID', detail, pointer: where });
  const names = new Set<string>();
  let count = 0;

  const field = (q: Record<string, unknown>, where: string, kinds: ReadonlySet<string>, what: string): FieldPath | undefined => {
    if (typeof q.field !== 'string') return void bad(where + '/field', 'an aggregation needs "field", an API field name or path');
    const path = resolveFieldPath(registry, entity, q.field);
    if (!path) return void bad(where + '/field', `${entity.name} has no field "${q.field}" (a field, or <association>.<field>)`);
    if (!kinds.has(path.field.kind)) return void bad(where + '/field', `${q.field} (${path.field.kind}) cannot be aggregated by ${what}`);
    return path;
  };

  const one = (q: unknown, where: string, depth: number): Aggregation | undefined => {
    if (!isObject(q)) return void bad(where, 'an aggregation must be an object with "name" and "type"');
    if (++count > MAX_AGGREGATIONS) return void bad(where, `at most ${MAX_AGGREGATIONS} aggregations per request, nested ones included`);
    if (depth > MAX_AGGREGATION_DEPTH) return void bad(where, `aggregations nest at most ${MAX_AGGREGATION_DEPTH} levels deep`);
    const { name, type } = q;
    if (typeof name !== 'string' || !name.trim() || /^\d+$/.test(name)) return void bad(where + '/name', `the name must be a non-empty string that is not a number, got ${showValue(name)}`);
    if (names.has(name)) return void bad(where + '/name', `two aggregations are named "${name}": each answers under its name`);
    names.add(name);
    if (typeof type !== 'string' || !(AGGREGATION_TYPES as readonly string[]).includes(type)) {
      return void bad(where + '/type', `unknown aggregation type ${showValue(type)} (${AGGREGATION_TYPES.join(', ')})`);
    }
    const allowed = ['name', 'type', ...(KEYS[type] ?? ['field'])];
    const stray = Object.keys(q).find((k) => !allowed.includes(k));
    if (stray !== undefined) return void bad(where + pointer(stray), `a ${type} aggregation has no "${stray}" (it takes ${allowed.join(', ')})`);
    /** The nested aggregation; undefined when there is none, false when it is invalid (or missing but required). */
    const nested = (required: boolean): Aggregation | undefined | false => {
      if (q.aggregation !== undefined) return one(q.aggregation, where + '/aggregation', depth + 1) ?? false;
      if (!required) return undefined;
      bad(where + '/aggregation', `a ${type} aggregation needs "aggregation", the one it narrows`);
      return false;
    };
    switch (type) {
      case 'min':
      case 'max':
      case 'avg':
      case 'sum':
      case 'stats':
      case 'count': {
        const kinds = type === 'count' ? GROUPABLE : type === 'min' || type === 'max' ? ORDERED : NUMERIC;
        const path = field(q, where, kinds, type);
        return path && { name, type, path };
      }
      case 'terms': {
        const path = field(q, where, GROUPABLE, 'terms');
        let limit = MAX_BUCKETS;
        if (q.limit !== undefined) {
          if (typeof q.limit !== 'number' || !Number.isInteger(q.limit) || q.limit < 1 || q.limit > MAX_BUCKETS) bad(where + '/limit', `expected an integer between 1 and ${MAX_BUCKETS}, got ${showValue(q.limit)}`);
          else limit = q.limit;
        }
        const sort = termsSort(q.sort, path, where + '/sort', bad);
        const inner = nested(false);
        if (!path || !sort || inner === false) return undefined;
        return { name, type, path, limit, ...sort, nested: inner };
      }
      case 'histogram': {
        const path = field(q, where, new Set(['datetime']), 'histogram (it buckets date-times)');
        const interval = typeof q.interval === 'string' ? q.interval.toLowerCase() : undefined;
        if (!interval || !(HISTOGRAM_INTERVALS as readonly string[]).includes(interval)) {
          bad(where + '/interval', `interval must be one of ${HISTOGRAM_INTERVALS.join(', ')}, got ${showValue(q.interval)}`);
        }
        const inner = nested(false);
        if (!path || inner === false || !interval || problems.length) return undefined;
        return { name, type, path, interval: interval as HistogramInterval, nested: inner };
      }
      case 'filter': {
        const parsed = parseCriteria(entity, q.filter, where + '/filter');
        if (!parsed.ok) problems.push(...parsed.problems);
        const inner = nested(true);
        if (!parsed.ok || !inner) return undefined;
        return { name, type, filters: parsed.filters, nested: inner };
      }
      case 'entity': {
        const path = field(q, where, new Set(['id', 'fk']), 'entity (it needs an id or a foreign key)');
        const definition = typeof q.definition === 'string' ? registry.find(q.definition) : undefined;
        if (!definition) return void bad(where + '/definition', `"definition" must name an entity, got ${showValue(q.definition)}`);
        if (!path) return undefined;
        const holds = path.field.kind === 'fk' ? path.field.references : (path.via?.target ?? entity).name;
        if (holds !== definition.name) return void bad(where + '/definition', `${path.path} holds ids of ${holds}, not of ${definition.name}`);
        return { name, type, path, definition };
      }
    }
    return undefined;
  };

  if (!Array.isArray(input)) return { ok: false, problems: [{ code: 'CRITERIA_INVALID', detail: 'expected a list of aggregations', pointer: at }] };
  const out = input.map((q, i) => one(q, at + pointer(i), 0));
  if (problems.length) return { ok: false, problems };
  return { ok: true, aggregations: out as Aggregation[] };
}

/**
 * Buckets are ordered by their count, largest first (then by key), unless `sort` names the aggregated field
 * (by key) or `_count`.
 */
function termsSort(
  sort: unknown,
  path: FieldPath | undefined,
  where: string,
  bad: (where: string, detail: string) => void,
): { byKey: boolean; order: 'ASC' | 'DESC' } | undefined {
  if (sort === undefined) return { byKey: false, order: 'DESC' };
  const s = Array.isArray(sort) && sort.length === 1 ? sort[0] : sort;
  if (!isObject(s)) return void bad(where, 'expected { "field": …, "order": "ASC" | "DESC" }');
  const order = s.order === undefined ? 'ASC' : typeof s.order === 'string' ? s.order.toUpperCase() : '';
  if (order !== 'ASC' && order !== 'DESC') return void bad(where + '/order', `order must be "ASC" or "DESC", got ${showValue(s.order)}`);
  if (s.field === '_count') return { byKey: false, order };
  if (path && (s.field === path.path || s.field === path.field.name)) return { byKey: true, order };
  return void bad(where + '/field', `buckets sort by the aggregated field or by "_count", got ${showValue(s.field)}`);
}
