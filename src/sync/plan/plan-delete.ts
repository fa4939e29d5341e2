import { parseCriteria } from '../../criteria/parse';
import { isId, toDbId } from '../../definitions/ids';
import { pointer, showValue } from '../../errors';
import { isObject } from '../../definitions/json';
import { type PlanContext, type Problems, type Report } from './plan-context';
import { planField, planVersion } from './plan-field';
import { VERSION_FIELD } from '../../definitions/record-version';
import type { Command, DeleteKey, Operation, RowRef } from '../types';

export function planDeleteKeys(op: Operation, items: readonly unknown[], firstIndex: number, problems: Problems): Command {
  const entity = op.entity;
  const keys: DeleteKey[] = [];
  items.forEach((item, i) => {
    const ref: RowRef = { op: op.key, index: firstIndex + i, path: [] };
    if (!isObject(item)) {
      problems.add({ ref, entity }, 'VALUE_INVALID', `a delete payload item must be an object with the key of ${entity.name}`);
      return;
    }
    const key: Record<string, string> = {};
    const before = problems.list.length;
    for (const k of entity.primaryKey) {
      const v = item[k];
      if (v === undefined || v === null) problems.add({ ref, entity }, 'FIELD_REQUIRED', `${k} is part of the key of ${entity.name}`, k);
      else if (!isId(v)) problems.add({ ref, entity }, 'ID_INVALID', `${k}: expected a UUID (32 hex characters or the dashed form), got ${showValue(v)}`, k);
      else key[k] = toDbId(v);
    }
    let version: string | undefined;
    for (const k of Object.keys(item)) {
      if (k === VERSION_FIELD) version = planVersion(item[k], (code, detail, ...at) => problems.add({ ref, entity }, code, detail, ...at));
      else if (!entity.fields[k]) problems.add({ ref, entity }, 'FIELD_UNKNOWN', `${entity.name} has no field "${k}"`, k);
    }
    if (problems.list.length === before) keys.push({ ref, key, ...(version === undefined ? {} : { version }) });
  });
  return { kind: 'delete', op: op.key, entity, keys };
}

/** The share of a snapshot's records a clear may touch without `force` or its own limit (SYNC_CLEAR_MAX_RATIO). */
export const DEFAULT_CLEAR_MAX_RATIO = 0.5;

/** `missing` of an upsert → a command run after the payload: criteria checked, `set` validated like a record. */
export function planMissing(ctx: PlanContext): Command | undefined {
  const { op, problems } = ctx;
  const missing = op.missing!;
  const meta = { operation: op.key, entity: op.entity.name };
  const parsed = parseCriteria(op.entity, missing.within, pointer(op.key, 'missing', 'within'));
  if (!parsed.ok) {
    for (const p of parsed.problems) problems.addAt(p.code, p.detail, p.pointer ?? '', meta);
    return undefined;
  }
  const guard = missing.force ? undefined : { maxRatio: missing.maxRatio ?? ctx.clearMaxRatio ?? DEFAULT_CLEAR_MAX_RATIO, maxRecords: missing.maxRecords };
  if (missing.delete) return { kind: 'missing', op: op.key, entity: op.entity, filters: parsed.filters, delete: true, guard };
  const set = new Map<string, unknown>();
  const before = problems.list.length;
  const report: Report = (code, detail, ...at) => problems.addAt(code, detail, pointer(op.key, 'missing', 'set', ...at), meta);
  const ref: RowRef = { op: op.key, index: -1, path: [] };
  for (const [name, raw] of Object.entries(missing.set as Record<string, unknown>)) {
    const field = op.entity.fields[name];
    if (!field) report('FIELD_UNKNOWN', `${op.entity.name} has no field "${name}"`, name);
    else if (field.translated) report('VALUE_INVALID', `${name} is translated; missing.set cannot set translated fields`, name);
    else if (op.entity.primaryKey.includes(name)) report('FIELD_WRITE_PROTECTED', `${name} is a key and cannot be set`, name);
    else if ((field.kind === 'fk' || field.kind === 'id') && raw !== null && typeof raw === 'object') report('VALUE_INVALID', `${name}: resolvers are not accepted in missing.set`, name);
    else {
      const v = planField({ ctx, entity: op.entity, ref, report }, field, raw);
      if (v !== undefined) set.set(name, v);
    }
  }
  if (!set.size && problems.list.length === before) report('VALUE_INVALID', 'set needs at least one field');
  return problems.list.length === before ? { kind: 'missing', op: op.key, entity: op.entity, filters: parsed.filters, set, delete: false, guard } : undefined;
}
