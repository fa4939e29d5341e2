import type { z } from 'zod';
import { jsonAcceptance } from '../../definitions/fast-checks';
import { kindOf } from '../../definitions/kinds';
import { hexToDbId } from '../../definitions/ids';
import type { FieldDef } from '../../definitions/types';
import { showValue, type ErrorCode } from '../../errors';
import { isObject } from '../../definitions/json';
import { type FieldSite, type PlanContext, type Report } from './plan-context';
import { MAX_VERSION_LENGTH, VERSION_FIELD } from '../../definitions/record-version';
import { itemReferencesExist, resolveItemReferences } from './plan-item-references';
import { planResolver } from './plan-keys';

/**
 * One field value of a record → database value (or a pending reference). Reports and returns `undefined` when
 * the field cannot be written or the value is wrong; `null` stays null.
 */
export function planField(site: FieldSite, field: FieldDef, raw: unknown): unknown {
  const { ctx, entity, ref, report } = site;
  const name = field.name;
  if (field.writeProtected) return report('FIELD_WRITE_PROTECTED', `${name} is write-protected (${field.writeProtected})`, name);
  if ((field.kind === 'id' || field.kind === 'fk') && isObject(raw)) return planResolver(site, field, raw);
  if (field.upperCase && typeof raw === 'string') raw = raw.toUpperCase();
  if (raw === null) {
    if (field.nullable) return null;
    return report(field.required ? 'FIELD_REQUIRED' : 'VALUE_INVALID', `${name} must not be null`, name);
  }
  const isKey = field.kind === 'id' || field.kind === 'fk';
  if (isKey && typeof raw === 'string') {
    // The usual id: checked and spelled in one pass (the check below, a regular expression, is for the rest).
    const id = hexToDbId(raw);
    if (id !== undefined) return stored(ctx, field, id);
  }
  const code: ErrorCode = isKey ? 'ID_INVALID' : 'VALUE_INVALID';
  const check = entity.checks.get(name);
  if (check) {
    const wrong = check(raw);
    return wrong ? report(code, `${name}: ${wrong}, got ${showValue(raw)}`, name) : stored(ctx, field, kindOf(field).toDb(raw));
  }
  if (field.kind === 'json') {
    // Most values of an import are fine: a plain walk accepts those that zod would accept as they are.
    if (jsonAcceptanceOf(field)?.(raw)) {
      if (field.itemReferences && !itemReferencesExist(ctx, field, raw, report)) return undefined;
      return stored(ctx, field, kindOf(field).toDb(raw));
    }
    const deep = tooDeep(raw, MAX_JSON_DEPTH);
    if (deep) return report(code, `${name}: json values nest at most ${MAX_JSON_DEPTH} levels of lists and objects`, name, ...deep);
  }
  let unresolved = false;
  if (field.itemReferences && Array.isArray(raw)) {
    const resolved = resolveItemReferences(ctx, field, raw, report);
    raw = resolved.value;
    unresolved = resolved.failed;
  }
  let parsed: ReturnType<z.ZodType['safeParse']>;
  try {
    parsed = entity.validators.get(name)!.safeParse(raw);
  } catch {
    // A value nested thousands of levels deep exhausts the validator's stack: it is the value that is wrong.
    return report(code, `${name}: the value is nested too deeply`, name);
  }
  if (!parsed.success) {
    // Inside a json value every problem is reported, each pointing at its own place (/price/0/gross).
    const cap = field.kind === 'json' ? JSON_ISSUES_SHOWN : 1;
    for (const issue of parsed.error.issues.slice(0, cap)) {
      const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
      // An unexpected key is reported at the key itself, not at the object holding it.
      const extra = issue.code === 'unrecognized_keys' ? (issue as { keys?: string[] }).keys?.[0] : undefined;
      if (extra !== undefined) path.push(extra);
      const sub = path.length ? '.' + path.join('.') : '';
      const at = valueAt(raw, path);
      const shown = at === undefined && path.length ? 'nothing' : showValue(at);
      report(code, `${name}${sub}: ${extra !== undefined ? 'unexpected key' : plainMessage(issue.message)}, got ${shown}`, name, ...path);
    }
    const more = parsed.error.issues.length - cap;
    if (field.kind === 'json' && more > 0) report(code, `${name}: ${more} more problem(s) in this value, not listed`, name);
    return undefined;
  }
  if (unresolved || (field.itemReferences && !itemReferencesExist(ctx, field, parsed.data, report))) return undefined;
  return stored(ctx, field, kindOf(field).toDb(parsed.data));
}

const acceptances = new WeakMap<FieldDef, ((v: unknown) => boolean) | null>();

/** The field's fast acceptance of json values (see fast-checks.ts), compiled once. */
function jsonAcceptanceOf(field: FieldDef): ((v: unknown) => boolean) | undefined {
  let a = acceptances.get(field);
  if (a === undefined) acceptances.set(field, (a = (field.jsonSchema && jsonAcceptance(field.jsonSchema)) || null));
  return a ?? undefined;
}

/** An encrypted field is sealed as soon as it is validated: nothing after planning sees it in clear. */
/** `_version` as a record sends it back: the string a read answered (null or left out: no precondition). */
export function planVersion(raw: unknown, report: Report): string | undefined {
  if (raw === null) return undefined;
  if (typeof raw === 'string' && raw !== '' && raw.length <= MAX_VERSION_LENGTH) return raw;
  return void report('VALUE_INVALID', `${VERSION_FIELD}: expected the version string a read answered, got ${showValue(raw)}`, VERSION_FIELD);
}

function stored(ctx: PlanContext, field: FieldDef, value: unknown): unknown {
  return field.encrypted ? ctx.registry.fieldCipher().seal(value as string) : value;
}

/**
 * Deepest nesting of lists and objects in a json value. Deeper values are refused before zod or PostgreSQL's jsonb
 * parser (which have stacks of their own to exhaust) see them.
 */
export const MAX_JSON_DEPTH = 64;

/** The path of the first list or object nested deeper than `max` (the value itself is level 1), or undefined. */
function tooDeep(value: unknown, max: number): (string | number)[] | undefined {
  interface Node {
    v: unknown;
    level: number;
    key: string | number;
    parent?: Node;
  }
  // Iterative: the point is to survive values that would exhaust a recursive walk.
  const stack: Node[] = [{ v: value, level: 1, key: '' }];
  while (stack.length) {
    const node = stack.pop()!;
    if (node.v === null || typeof node.v !== 'object') continue;
    if (node.level > max) {
      const path: (string | number)[] = [];
      for (let n: Node | undefined = node; n?.parent; n = n.parent) path.unshift(n.key);
      return path;
    }
    const entries: [string | number, unknown][] = Array.isArray(node.v) ? node.v.map((x, i) => [i, x]) : Object.entries(node.v);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, v] = entries[i]!;
      if (v !== null && typeof v === 'object') stack.push({ v, level: node.level + 1, key, parent: node });
    }
  }
  return undefined;
}

/** Problems listed per json value; the rest are counted in one more error. */
const JSON_ISSUES_SHOWN = 20;

function valueAt(v: unknown, path: readonly (string | number)[]): unknown {
  let cur = v;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

/** zod's generic wording ("Invalid input: expected string, received number") → what bulksync says elsewhere. */
function plainMessage(message: string): string {
  return message.replace(/^Invalid input: /, '').replace(/, received \w+$/, '');
}
