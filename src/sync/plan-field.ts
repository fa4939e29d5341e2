import { kindOf } from '../definitions/kinds';
import type { EntityDef, FieldDef } from '../definitions/types';
import { showValue, type ErrorCode } from '../errors';
import { isObject, type PlanContext, type Report } from './plan-context';
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
  const parsed = entity.validators.get(name)!.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const sub = issue?.path.length ? issue.path.map(String).join('.') : '';
    const code: ErrorCode = field.kind === 'id' || field.kind === 'fk' ? 'ID_INVALID' : 'VALUE_INVALID';
    return report(code, `${name}${sub ? '.' + sub : ''}: ${issue?.message ?? 'invalid value'}, got ${showValue(raw)}`, name);
  }
  return kindOf(field).toDb(parsed.data);
}
