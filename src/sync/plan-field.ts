import type { z } from 'zod';
import { kindOf } from '../definitions/kinds';
import type { EntityDef, FieldDef } from '../definitions/types';
import { showValue, type ErrorCode } from '../errors';
import { isObject } from '../definitions/json';
import { type PlanContext, type Report } from './plan-context';
import { planResolver } from './plan-keys';
import type { RowRef } from './types';

/**
 * One field value of a record → database value (or a pending reference). Reports and returns `undefined` when
 * the field cannot be written or the value is wrong; `null` stays null.
 */
export function planField(ctx: PlanContext, entity: EntityDef, field: FieldDef, raw: unknown, ref: RowRef, report: Report): unknown {
  const name = field.name;
  if (field.writeProtected) return report('FIELD_WRITE_PROTECTED', `${name} is write-protected (${field.writeProtected})`, name);
  if ((field.kind === 'id' || field.kind === 'fk') && isObject(raw)) return planResolver(ctx, entity, field, raw, ref, report);
  if (raw === null) {
    if (field.nullable) return null;
    return report(field.required ? 'FIELD_REQUIRED' : 'VALUE_INVALID', `${name} must not be null`, name);
  }
  const code: ErrorCode = field.kind === 'id' || field.kind === 'fk' ? 'ID_INVALID' : 'VALUE_INVALID';
  const check = entity.checks.get(name);
  if (check) {
    const wrong = check(raw);
    return wrong ? report(code, `${name}: ${wrong}, got ${showValue(raw)}`, name) : kindOf(field).toDb(raw);
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
  return kindOf(field).toDb(parsed.data);
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
