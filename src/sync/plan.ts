import { parseCriteria } from '../criteria/parse';
import { kindOf } from '../definitions/kinds';
import { isId, newDbId, toDbId } from '../definitions/ids';
import type { Registry } from '../definitions/registry';
import type { EntityDef, FieldDef } from '../definitions/types';
import { MAX_REPORTED_ERRORS, pointer, showValue, type ErrorCode, type Problem } from '../errors';
import { keyPart, PendingRef } from './pending';
import type { Command, Key, Operation, OperationPlan, RowRef, UpsertCommand, UpsertRow } from './types';

/** A key value in planning: an id, or a reference still to be resolved. */
type KeyValue = string | PendingRef;
type PlanKey = Record<string, KeyValue>;

/** Deepest nesting of records inside records; deeper input is an error, not a stack overflow. */
export const MAX_NESTING = 8;

export function refPointer(ref: RowRef, ...more: (string | number)[]): string {
  return pointer(ref.op, ref.index, ...ref.path, ...more);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Problems {
  readonly list: Problem[] = [];
  add(code: ErrorCode, detail: string, ref: RowRef, entity: EntityDef, ...at: (string | number)[]): void {
    if (this.list.length >= MAX_REPORTED_ERRORS) return;
    this.list.push({
      code,
      detail,
      pointer: refPointer(ref, ...at),
      meta: { operation: ref.op, entity: entity.name, index: ref.index },
    });
  }
  get full(): boolean {
    return this.list.length >= MAX_REPORTED_ERRORS;
  }
}

/** Rows of one operation gathered per entity; rows with the same key are merged (later fields win). */
class RowSet {
  private readonly byEntity = new Map<string, { entity: EntityDef; rows: UpsertRow[]; byKey: Map<string, UpsertRow> }>();

  add(entity: EntityDef, row: UpsertRow): void {
    let set = this.byEntity.get(entity.name);
    if (!set) {
      set = { entity, rows: [], byKey: new Map() };
      this.byEntity.set(entity.name, set);
    }
    const key = entity.primaryKey.map((k) => keyPart(row.values.get(k))).join('|');
    const prev = set.byKey.get(key);
    if (prev) {
      for (const [f, v] of row.values) prev.values.set(f, v);
      prev.root ||= row.root;
      return;
    }
    set.byKey.set(key, row);
    set.rows.push(row);
  }

  commands(op: string, registry: Registry): UpsertCommand[] {
    return [...this.byEntity.values()]
      .sort((a, b) => registry.rank(a.entity.name) - registry.rank(b.entity.name))
      .map(({ entity, rows }) => ({ kind: 'upsert', op, entity, rows }));
  }
}

/**
 * Validates one record and flattens its nested records into `rows`. Returns the record's primary key
 * (database spelling) for the parent to link to, or undefined when the key itself is unusable.
 */
function planRecord(
  registry: Registry,
  entity: EntityDef,
  record: unknown,
  ref: RowRef,
  rows: RowSet,
  problems: Problems,
  depth: number,
  root: boolean,
  fixed: Record<string, KeyValue> = {},
): PlanKey | undefined {
  if (!isObject(record)) {
    problems.add('VALUE_INVALID', `a ${entity.name} record must be an object, got ${showValue(record)}`, ref, entity);
    return undefined;
  }
  if (depth > MAX_NESTING) {
    problems.add('VALUE_INVALID', `records nest at most ${MAX_NESTING} levels deep`, ref, entity);
    return undefined;
  }
  const values = new Map<string, unknown>();
  const nested: [string, unknown][] = [];
  for (const [name, raw] of Object.entries(record)) {
    const field = entity.fields[name];
    if (!field) {
      if (entity.associations[name]) nested.push([name, raw]);
      else {
        problems.add('FIELD_UNKNOWN', `${entity.name} has no field or association "${name}"`, ref, entity, name);
      }
      continue;
    }
    if (field.writeProtected) {
      problems.add('FIELD_WRITE_PROTECTED', `${name} is write-protected (${field.writeProtected})`, ref, entity, name);
      continue;
    }
    if ((field.kind === 'id' || field.kind === 'fk') && isObject(raw)) {
      const pending = planResolver(registry, entity, field, raw, ref, problems);
      if (pending) values.set(name, pending);
      continue;
    }
    if (raw === null) {
      if (!field.nullable) {
        problems.add(field.required ? 'FIELD_REQUIRED' : 'VALUE_INVALID', `${name} must not be null`, ref, entity, name);
      } else values.set(name, null);
      continue;
    }
    const parsed = entity.validators.get(name)!.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const sub = issue?.path.length ? issue.path.map(String).join('.') : '';
      const code: ErrorCode = field.kind === 'id' || field.kind === 'fk' ? 'ID_INVALID' : 'VALUE_INVALID';
      problems.add(code, `${name}${sub ? '.' + sub : ''}: ${issue?.message ?? 'invalid value'}, got ${showValue(raw)}`, ref, entity, name);
      continue;
    }
    values.set(name, kindOf(field).toDb(parsed.data));
  }
  for (const [name, v] of Object.entries(fixed)) {
    const given = values.get(name);
    if (given !== undefined && keyPart(given) !== keyPart(v)) {
      problems.add('VALUE_INVALID', `${name} contradicts the record it is nested in`, ref, entity, name);
    }
    values.set(name, v);
  }

  // Every key field is known now, or the record is new and gets a time-ordered id.
  const single = entity.primaryKey.length === 1 ? entity.fields[entity.primaryKey[0]!]! : undefined;
  if (single && values.get(single.name) == null && single.kind === 'id') values.set(single.name, newDbId());
  const missingKey = entity.primaryKey.filter((k) => values.get(k) == null);
  for (const k of missingKey) problems.add('FIELD_REQUIRED', `${k} is part of the key of ${entity.name}`, ref, entity, k);
  if (missingKey.length) return undefined;
  const key: PlanKey = {};
  for (const k of entity.primaryKey) key[k] = values.get(k) as KeyValue;
  const ownId = single ? key[single.name]! : undefined;

  for (const [name, raw] of nested) {
    const assoc = entity.associations[name]!;
    const target = registry.get(assoc.entity);
    const at = { ...ref, path: [...ref.path, name] };
    if (assoc.type === 'manyToOne') {
      if (!isObject(raw)) {
        problems.add('VALUE_INVALID', `${name} must be a ${target.name} record; to unset the reference send "${assoc.via}": null`, ref, entity, name);
        continue;
      }
      const childKey = planRecord(registry, target, raw, at, rows, problems, depth + 1, false);
      if (!childKey) continue;
      const id = Object.values(childKey)[0]!;
      const prev = values.get(assoc.via);
      if (prev !== undefined && keyPart(prev) !== keyPart(id)) {
        problems.add('VALUE_INVALID', `${assoc.via} and ${name}.id name different records`, ref, entity, assoc.via);
      }
      values.set(assoc.via, id);
      continue;
    }
    if (!Array.isArray(raw)) {
      problems.add('VALUE_INVALID', `${name} must be a list of ${target.name} records`, ref, entity, name);
      continue;
    }
    if (!ownId) {
      problems.add('VALUE_INVALID', `${entity.name} has a composite key; nested ${name} cannot be linked`, ref, entity, name);
      continue;
    }
    raw.forEach((child, i) => {
      const childRef = { ...ref, path: [...ref.path, name, i] };
      if (assoc.type === 'oneToMany') {
        planRecord(registry, target, child, childRef, rows, problems, depth + 1, false, { [assoc.foreignKey]: ownId });
        return;
      }
      const targetKey = planRecord(registry, target, child, childRef, rows, problems, depth + 1, false);
      if (!targetKey) return;
      rows.add(registry.get(assoc.mapping), {
        ref: childRef,
        values: new Map([
          [assoc.localKey, ownId],
          [assoc.targetKey, Object.values(targetKey)[0]!],
        ]),
        root: false,
      });
    });
  }
  rows.add(entity, { ref, values, root });
  return key;
}

/**
 * `{ "resolver": "<entity>.<unique field>", "value": …, "nullOnMissing": false }` on an id or fk field → a pending
 * reference, checked here (resolver known, entity matches the field, value valid) and looked up by the resolve stage.
 */
function planResolver(
  registry: Registry,
  entity: EntityDef,
  field: FieldDef,
  raw: Record<string, unknown>,
  ref: RowRef,
  problems: Problems,
): PendingRef | undefined {
  const extra = Object.keys(raw).filter((k) => k !== 'resolver' && k !== 'value' && k !== 'nullOnMissing');
  if (typeof raw.resolver !== 'string' || extra.length) {
    problems.add('VALUE_INVALID', `${field.name}: expected an id or { "resolver": "<entity>.<field>", "value": … }`, ref, entity, field.name);
    return undefined;
  }
  const resolver = registry.resolver(raw.resolver);
  const target = field.kind === 'fk' ? field.references! : entity.name;
  if (!resolver) {
    const offered = registry.resolverNames().filter((n) => n.startsWith(target + '.'));
    problems.add(
      'RESOLVER_NOT_FOUND',
      `unknown resolver ${showValue(raw.resolver)}; ${target} offers ${offered.length ? offered.join(', ') : 'none'}`,
      ref, entity, field.name, 'resolver',
    );
    return undefined;
  }
  if (resolver.entity.name !== target) {
    problems.add('VALUE_INVALID', `${field.name} references ${target}, but resolver ${resolver.name} finds a ${resolver.entity.name}`, ref, entity, field.name, 'resolver');
    return undefined;
  }
  if (raw.nullOnMissing !== undefined && typeof raw.nullOnMissing !== 'boolean') {
    problems.add('VALUE_INVALID', 'nullOnMissing must be true or false', ref, entity, field.name, 'nullOnMissing');
    return undefined;
  }
  const nullOnMissing = raw.nullOnMissing === true;
  if (nullOnMissing && field.kind === 'fk' && !field.nullable) {
    problems.add('VALUE_INVALID', `${field.name} cannot be null, so nullOnMissing cannot apply`, ref, entity, field.name, 'nullOnMissing');
    return undefined;
  }
  const parsed = resolver.entity.validators.get(resolver.field.name)!.safeParse(raw.value);
  if (raw.value === null || raw.value === undefined || !parsed.success) {
    const why = parsed.success ? 'a value is needed' : (parsed.error.issues[0]?.message ?? 'invalid value');
    problems.add('VALUE_INVALID', `${field.name}: ${resolver.name}: ${why}, got ${showValue(raw.value)}`, ref, entity, field.name, 'value');
    return undefined;
  }
  return new PendingRef(resolver.entity, resolver.field, kindOf(resolver.field).toDb(parsed.data), nullOnMissing, ref, field.name, field.kind === 'id');
}

function planDeleteKeys(op: Operation, problems: Problems): Command | undefined {
  const entity = op.entity;
  const keys: { ref: RowRef; key: Key }[] = [];
  op.payload!.forEach((item, index) => {
    const ref: RowRef = { op: op.key, index, path: [] };
    if (!isObject(item)) {
      problems.add('VALUE_INVALID', `a delete payload item must be an object with the key of ${entity.name}`, ref, entity);
      return;
    }
    const key: Record<string, string> = {};
    const before = problems.list.length;
    for (const k of entity.primaryKey) {
      const v = item[k];
      if (v === undefined || v === null) {
        problems.add('FIELD_REQUIRED', `${k} is part of the key of ${entity.name}`, ref, entity, k);
      } else if (!isId(v)) {
        problems.add('ID_INVALID', `${k}: expected a UUID (32 hex characters or the dashed form), got ${showValue(v)}`, ref, entity, k);
      } else key[k] = toDbId(v);
    }
    for (const k of Object.keys(item)) {
      if (!entity.fields[k]) {
        problems.add('FIELD_UNKNOWN', `${entity.name} has no field "${k}"`, ref, entity, k);
      }
    }
    if (problems.list.length === before) keys.push({ ref, key });
  });
  return { kind: 'delete', op: op.key, entity, keys };
}

/** Plans every operation; pure: no database. All problems of the request are collected (up to the cap). */
export function planRequest(
  registry: Registry,
  operations: readonly Operation[],
): { ok: true; plans: OperationPlan[] } | { ok: false; problems: Problem[] } {
  const problems = new Problems();
  const plans: OperationPlan[] = [];
  for (const op of operations) {
    if (op.action === 'upsert') {
      const rows = new RowSet();
      op.payload!.forEach((record, index) => {
        if (!problems.full) planRecord(registry, op.entity, record, { op: op.key, index, path: [] }, rows, problems, 0, true);
      });
      plans.push({ operation: op, commands: rows.commands(op.key, registry) });
    } else if (op.criteria !== undefined) {
      const parsed = parseCriteria(op.entity, op.criteria, pointer(op.key, 'criteria'));
      if (!parsed.ok) {
        for (const p of parsed.problems) problems.list.push({ ...p, meta: { operation: op.key, entity: op.entity.name } });
        continue;
      }
      plans.push({ operation: op, commands: [{ kind: 'deleteWhere', op: op.key, entity: op.entity, filters: parsed.filters }] });
    } else {
      const cmd = planDeleteKeys(op, problems);
      if (cmd) plans.push({ operation: op, commands: [cmd] });
    }
  }
  if (problems.list.length) return { ok: false, problems: problems.list.slice(0, MAX_REPORTED_ERRORS) };
  return { ok: true, plans };
}
