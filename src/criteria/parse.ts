import { pointer, showValue, type Problem } from '../errors';
import { isObject } from '../definitions/json';
import { isId, toDbId } from '../definitions/ids';
import { kindOf } from '../definitions/kinds';
import type { EntityDef, FieldDef } from '../definitions/types';
import { FILTER_TYPES, RANGE_OPS, type Filter, type RangeOp } from './types';

/**
 * Kinds a filter can compare; json and search vectors have no meaningful equality here. An id list compares by
 * membership (Shopware's meaning of equals on categoryTree): equals/contains = holds the id, equalsAny = holds one.
 */
const COMPARABLE = new Set(['id', 'fk', 'string', 'text', 'int', 'float', 'bool', 'datetime', 'idList']);
/** Longest text a term filter accepts: a search box, not a document. */
const TERM_MAX_LENGTH = 1000;
const TEXTUAL = new Set(['string', 'text']);
const ORDERED = new Set(['string', 'text', 'int', 'float', 'datetime']);
/**
 * Deepest nesting of `not`/`multi` filters (the top-level list is level 0). Deeper input is refused before it can
 * exhaust a stack here, in the SQL builder or in PostgreSQL's planner.
 */
export const MAX_FILTER_DEPTH = 16;
/** Filters per criteria, nested ones included: each becomes SQL with its own parameters (PostgreSQL takes 65,535). */
export const MAX_FILTERS = 1000;

/** The keys each filter type takes; anything else is a mistake worth saying (a misspelt "value", say). */
const FILTER_KEYS: Readonly<Record<string, readonly string[]>> = Object.assign(Object.create(null) as Record<string, readonly string[]>, {
  equals: ['type', 'field', 'value'],
  equalsAny: ['type', 'field', 'value'],
  contains: ['type', 'field', 'value'],
  prefix: ['type', 'field', 'value'],
  suffix: ['type', 'field', 'value'],
  range: ['type', 'field', 'parameters'],
  not: ['type', 'operator', 'queries'],
  multi: ['type', 'operator', 'queries'],
  term: ['type', 'field', 'value'],
});

type Result = { ok: true; filters: Filter[] } | { ok: false; problems: Problem[] };


/**
 * Validates a criteria list against an entity: field names are API names of the entity, values are checked
 * by field kind. `at` is the JSON pointer of the list (e.g. /drop-links/criteria).
 */
export function parseCriteria(entity: EntityDef, input: unknown, at: string): Result {
  const problems: Problem[] = [];
  const bad = (where: string, detail: string) => problems.push({ code: 'CRITERIA_INVALID', detail, pointer: where });

  const value = (f: FieldDef, v: unknown, where: string, allowNull: boolean): unknown => {
    if (v === null) {
      if (!allowNull) bad(where, `${f.name}: null is only allowed with equals`);
      return null;
    }
    if (f.kind === 'idList') {
      // A filter on an id list names one member, not a whole list.
      if (isId(v)) return toDbId(v);
      bad(where, `${f.name}: expected a UUID (32 hex characters or the dashed form), got ${showValue(v)}`);
      return undefined;
    }
    const r = entity.validators.get(f.name)!.safeParse(v);
    if (!r.success) {
      bad(where, `${f.name}: ${r.error.issues[0]?.message ?? 'invalid value'}, got ${showValue(v)}`);
      return undefined;
    }
    return kindOf(f).toDb(r.data);
  };

  let count = 0;
  const one = (q: unknown, where: string, depth: number): Filter | undefined => {
    if (!isObject(q)) return void bad(where, 'a filter must be an object with "type"');
    if (depth > MAX_FILTER_DEPTH) return void bad(where, `filters nest at most ${MAX_FILTER_DEPTH} levels deep`);
    count++;
    const type = q.type;
    const allowed = typeof type === 'string' ? FILTER_KEYS[type] : undefined;
    const stray = allowed ? Object.keys(q).find((k) => !allowed.includes(k)) : undefined;
    if (stray !== undefined) return void bad(pointer2(where, stray), `a ${String(type)} filter has no "${stray}" (it takes ${allowed!.join(', ')})`);
    if (type === 'not' || type === 'multi') {
      // Only a string is looked at: String() of an arbitrary value recurses through it (a list nested 10,000 deep).
      const operator = q.operator === undefined ? 'and' : typeof q.operator === 'string' ? q.operator.toLowerCase() : undefined;
      if (operator !== 'and' && operator !== 'or') return void bad(pointer2(where, 'operator'), `operator must be "and" or "or", got ${showValue(q.operator)}`);
      const queries = list(q.queries, pointer2(where, 'queries'), depth + 1);
      return queries && { type, operator, queries };
    }
    if (type === 'term') return term(q, where);
    if (typeof q.field !== 'string') return void bad(pointer2(where, 'field'), 'a filter needs "field", an API field name');
    const f = entity.fields[q.field];
    if (!f || !f.readable) return void bad(pointer2(where, 'field'), `${entity.name} has no field "${q.field}"`);
    if (!COMPARABLE.has(f.kind)) return void bad(pointer2(where, 'field'), `${q.field} (${f.kind}) cannot be filtered`);
    const vAt = pointer2(where, 'value');
    switch (type) {
      case 'equals': {
        if (!('value' in q)) return void bad(vAt, 'equals needs "value"');
        const v = value(f, q.value, vAt, true);
        return v === undefined ? undefined : { type, field: f, value: v };
      }
      case 'equalsAny': {
        // Shopware also accepts "a|b|c".
        const raw = typeof q.value === 'string' ? q.value.split('|') : q.value;
        if (!Array.isArray(raw) || raw.length === 0) return void bad(vAt, 'equalsAny needs a non-empty list as "value"');
        const values = raw.map((v, i) => value(f, v, pointer2(vAt, i), false));
        return values.some((v) => v === undefined) ? undefined : { type, field: f, values };
      }
      case 'contains':
      case 'prefix':
      case 'suffix': {
        if (type === 'contains' && f.kind === 'idList') {
          // An id list "contains" one id: the same membership test as equals.
          const v = value(f, q.value, vAt, false);
          return v === undefined ? undefined : { type: 'equals', field: f, value: v };
        }
        if (!TEXTUAL.has(f.kind)) return void bad(pointer2(where, 'field'), `${type} needs a text field; ${q.field} is ${f.kind}`);
        if (typeof q.value !== 'string') return void bad(vAt, `${type} needs a string "value"`);
        if (q.value.includes('\u0000')) return void bad(vAt, 'the value must not contain the NUL character (\\u0000)');
        return { type, field: f, value: q.value };
      }
      case 'range': {
        if (!ORDERED.has(f.kind)) return void bad(pointer2(where, 'field'), `range needs an ordered field; ${q.field} is ${f.kind}`);
        const p = q.parameters;
        const pAt = pointer2(where, 'parameters');
        if (!isObject(p)) return void bad(pAt, 'range needs "parameters" with gt, gte, lt or lte');
        const bounds: Partial<Record<RangeOp, unknown>> = {};
        for (const [k, v] of Object.entries(p)) {
          if (!RANGE_OPS.includes(k as RangeOp)) return void bad(pointer2(pAt, k), `unknown range parameter "${k}" (gt, gte, lt, lte)`);
          const dv = value(f, v, pointer2(pAt, k), false);
          if (dv === undefined) return undefined;
          bounds[k as RangeOp] = dv;
        }
        if (!Object.keys(bounds).length) return void bad(pAt, 'range needs at least one of gt, gte, lt, lte');
        return { type, field: f, bounds };
      }
      default:
        return void bad(pointer2(where, 'type'), `unknown filter type ${showValue(type)} (${FILTER_TYPES.join(', ')})`);
    }
  };

  /** `{ type: "term", value: "linen shirt" }`: full-text match on the entity's search vector (or the tsvector `field`). */
  const term = (q: Record<string, unknown>, where: string): Filter | undefined => {
    const searchable = entity.fieldList.filter((f) => f.kind === 'tsvector');
    let f: FieldDef | undefined;
    if (q.field !== undefined) {
      f = typeof q.field === 'string' ? entity.fields[q.field] : undefined;
      if (!f || f.kind !== 'tsvector') {
        const names = searchable.map((s) => s.name).join(', ') || 'none';
        return void bad(pointer2(where, 'field'), `term needs a search field (tsvector) of ${entity.name} (${names}), got ${showValue(q.field)}`);
      }
    } else {
      f = searchable[0];
      if (!f) return void bad(pointer2(where, 'type'), `${entity.name} has no search field (tsvector), so it cannot be searched by term`);
    }
    const vAt = pointer2(where, 'value');
    if (typeof q.value !== 'string' || !q.value.trim()) return void bad(vAt, 'term needs a non-empty string "value"');
    if (q.value.length > TERM_MAX_LENGTH) return void bad(vAt, `term is at most ${TERM_MAX_LENGTH} characters long`);
    if (q.value.includes('\u0000')) return void bad(vAt, 'the value must not contain the NUL character (\\u0000)');
    return { type: 'term', field: f, value: q.value };
  };

  const list = (qs: unknown, where: string, depth: number): Filter[] | undefined => {
    if (!Array.isArray(qs) || qs.length === 0) return void bad(where, 'expected a non-empty list of filters');
    const out: (Filter | undefined)[] = [];
    for (const [i, q] of qs.entries()) {
      // Past the limit the rest of the list is not looked at: one error, not one per surplus filter.
      if (count >= MAX_FILTERS) {
        bad(pointer2(where, i), `criteria hold at most ${MAX_FILTERS} filters, nested ones included`);
        return undefined;
      }
      out.push(one(q, pointer2(where, i), depth));
    }
    return out.every((f): f is Filter => f !== undefined) ? out : undefined;
  };

  const filters = list(input, at, 0);
  if (problems.length || !filters) return { ok: false, problems };
  return { ok: true, filters };
}

function pointer2(base: string, seg: string | number): string {
  return base + pointer(seg);
}
