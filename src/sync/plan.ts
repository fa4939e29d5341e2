import { parseCriteria } from '../criteria/parse';
import { isId, newDbId, toDbId } from '../definitions/ids';
import { kindOf } from '../definitions/kinds';
import type { Registry } from '../definitions/registry';
import type { EntityDef, FieldDef, ResolverDef } from '../definitions/types';
import { MAX_REPORTED_ERRORS, pointer, showValue, type ErrorCode, type ErrorMeta, type Problem } from '../errors';
import { keyPart, PendingRef, type MatchCandidate } from './pending';
import type { Command, Key, Operation, OperationPlan, RowRef, UpsertCommand, UpsertRow } from './types';

/** Deepest nesting of records inside records; deeper input is an error, not a stack overflow. */
export const MAX_NESTING = 8;

/** A key value in planning: an id, or a reference still to be resolved. */
type KeyValue = string | PendingRef;
type PlanKey = Record<string, KeyValue>;

export function refPointer(ref: RowRef, ...more: (string | number)[]): string {
  return pointer(ref.op, ref.index, ...ref.path, ...more);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Problems {
  readonly list: Problem[] = [];
  add(code: ErrorCode, detail: string, ref: RowRef, entity: EntityDef, ...at: (string | number)[]): void {
    this.addAt(code, detail, refPointer(ref, ...at), { operation: ref.op, entity: entity.name, index: ref.index });
  }
  addAt(code: ErrorCode, detail: string, ptr: string, meta: ErrorMeta): void {
    if (this.list.length < MAX_REPORTED_ERRORS) this.list.push({ code, detail, pointer: ptr, meta });
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

  commands(op: Operation, registry: Registry): UpsertCommand[] {
    return [...this.byEntity.values()]
      .sort((a, b) => registry.rank(a.entity.name) - registry.rank(b.entity.name))
      .map(({ entity, rows }) => ({ kind: 'upsert', op: op.key, entity, rows, mode: op.mode, isRootEntity: entity.name === op.entity.name }));
  }
}

interface PlanContext {
  registry: Registry;
  op: Operation;
  rows: RowSet;
  problems: Problems;
}

type Report = (code: ErrorCode, detail: string, ...at: (string | number)[]) => void;

/**
 * One field value of a record → database value (or a pending reference). Reports and returns `undefined` when
 * the field cannot be written or the value is wrong; `null` stays null.
 */
function planField(ctx: PlanContext, entity: EntityDef, field: FieldDef, raw: unknown, ref: RowRef, report: Report): unknown {
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

/**
 * Validates one record and flattens its nested records into the row set. Returns the record's primary key for
 * the parent to link to, or undefined when the key itself is unusable.
 */
function planRecord(
  ctx: PlanContext,
  entity: EntityDef,
  record: unknown,
  ref: RowRef,
  depth: number,
  root: boolean,
  fixed: Record<string, KeyValue> = {},
): PlanKey | undefined {
  const { registry, problems } = ctx;
  const report: Report = (code, detail, ...at) => problems.add(code, detail, ref, entity, ...at);
  if (!isObject(record)) return void report('VALUE_INVALID', `a ${entity.name} record must be an object, got ${showValue(record)}`);
  if (depth > MAX_NESTING) return void report('VALUE_INVALID', `records nest at most ${MAX_NESTING} levels deep`);
  const values = new Map<string, unknown>();
  const nested: [string, unknown][] = [];
  for (const [name, raw] of Object.entries(record)) {
    const field = entity.fields[name];
    if (field) {
      const v = planField(ctx, entity, field, raw, ref, report);
      if (v !== undefined) values.set(name, v);
    } else if (entity.associations[name]) nested.push([name, raw]);
    else report('FIELD_UNKNOWN', `${entity.name} has no field or association "${name}"`, name);
  }
  for (const [name, v] of Object.entries(fixed)) {
    const given = values.get(name);
    if (given !== undefined && keyPart(given) !== keyPart(v)) report('VALUE_INVALID', `${name} contradicts the record it is nested in`, name);
    values.set(name, v);
  }
  if (root && ctx.op.mode === 'replace') {
    for (const f of entity.fieldList) {
      if (f.required && !f.writeProtected && !entity.primaryKey.includes(f.name) && !values.has(f.name) && !(record as object).hasOwnProperty(f.name)) {
        report('FIELD_REQUIRED', `${f.name} is required with mode replace`, f.name);
      }
    }
  }

  // The key: given, matched by externalId / matchBy (found or created by the resolve stage), or a new UUIDv7.
  const single = entity.primaryKey.length === 1 ? entity.fields[entity.primaryKey[0]!]! : undefined;
  if (single && single.kind === 'id' && values.get(single.name) == null) {
    const candidates = matchCandidates(entity, values, root ? ctx.op.matchBy : []);
    values.set(single.name, candidates.length ? new PendingRef(entity, candidates, true, ref, single.name, true) : newDbId());
  }
  const missingKey = entity.primaryKey.filter((k) => values.get(k) == null);
  for (const k of missingKey) report('FIELD_REQUIRED', `${k} is part of the key of ${entity.name}`, k);
  if (missingKey.length) return undefined;
  const key: PlanKey = {};
  for (const k of entity.primaryKey) key[k] = values.get(k) as KeyValue;
  const ownId = single ? key[single.name]! : undefined;

  for (const [name, raw] of nested) {
    const assoc = entity.associations[name]!;
    const target = registry.get(assoc.entity);
    if (assoc.type === 'manyToOne') {
      if (!isObject(raw)) {
        report('VALUE_INVALID', `${name} must be a ${target.name} record; to unset the reference send "${assoc.via}": null`, name);
        continue;
      }
      const childKey = planRecord(ctx, target, raw, { ...ref, path: [...ref.path, name] }, depth + 1, false);
      if (!childKey) continue;
      const id = Object.values(childKey)[0]!;
      const prev = values.get(assoc.via);
      if (prev !== undefined && keyPart(prev) !== keyPart(id)) report('VALUE_INVALID', `${assoc.via} and ${name}.id name different records`, assoc.via);
      values.set(assoc.via, id);
      continue;
    }
    if (!Array.isArray(raw)) {
      report('VALUE_INVALID', `${name} must be a list of ${target.name} records`, name);
      continue;
    }
    if (!ownId) {
      report('VALUE_INVALID', `${entity.name} has a composite key; nested ${name} cannot be linked`, name);
      continue;
    }
    raw.forEach((child, i) => {
      const childRef = { ...ref, path: [...ref.path, name, i] };
      if (assoc.type === 'oneToMany') {
        planRecord(ctx, target, child, childRef, depth + 1, false, { [assoc.foreignKey]: ownId });
        return;
      }
      const targetKey = planRecord(ctx, target, child, childRef, depth + 1, false);
      if (!targetKey) return;
      ctx.rows.add(registry.get(assoc.mapping), {
        ref: childRef,
        values: new Map<string, unknown>([
          [assoc.localKey, ownId],
          [assoc.targetKey, Object.values(targetKey)[0]!],
        ]),
        root: false,
      });
    });
  }
  ctx.rows.add(entity, { ref, values, root });
  return key;
}

/**
 * The keys that find an existing record for a record without id, in order: the entity's match keys (by default its
 * unique keys that contain externalId, e.g. externalId alone or storeId + externalId), then the operation's
 * matchBy fields. A key is a candidate when the record gives every field of it.
 */
function matchCandidates(entity: EntityDef, values: Map<string, unknown>, matchBy: readonly string[]): MatchCandidate[] {
  const out: MatchCandidate[] = [];
  const keys: (readonly string[])[] = [...entity.matchKeys, ...matchBy.filter((n) => !entity.matchKeys.some((k) => k.length === 1 && k[0] === n)).map((n) => [n])];
  for (const key of keys) {
    const vals = key.map((n) => values.get(n));
    if (vals.every((v) => v != null)) out.push({ fields: key.map((n) => entity.fields[n]!), values: vals });
  }
  return out;
}

/**
 * `{ "resolver": "<entity>.<unique field>", "value": …, "nullOnMissing": false }` on an id or fk field → a pending
 * reference, checked here (resolver known, entity matches the field, value valid) and looked up by the resolve stage.
 */
function planResolver(ctx: PlanContext, entity: EntityDef, field: FieldDef, raw: Record<string, unknown>, ref: RowRef, report: Report): PendingRef | undefined {
  const extra = Object.keys(raw).filter((k) => k !== 'resolver' && k !== 'value' && k !== 'nullOnMissing');
  if (typeof raw.resolver !== 'string' || extra.length) {
    return void report('VALUE_INVALID', `${field.name}: expected an id or { "resolver": "<entity>.<field>", "value": … }`, field.name);
  }
  const resolver = ctx.registry.resolver(raw.resolver);
  const target = field.kind === 'fk' ? field.references! : entity.name;
  if (!resolver) {
    const offered = ctx.registry.resolverNames().filter((n) => n.startsWith(target + '.'));
    return void report(
      'RESOLVER_NOT_FOUND',
      `unknown resolver ${showValue(raw.resolver)}; ${target} offers ${offered.length ? offered.join(', ') : 'none'}`,
      field.name,
      'resolver',
    );
  }
  if (resolver.entity.name !== target) {
    return void report('VALUE_INVALID', `${field.name} references ${target}, but resolver ${resolver.name} finds a ${resolver.entity.name}`, field.name, 'resolver');
  }
  if (raw.nullOnMissing !== undefined && typeof raw.nullOnMissing !== 'boolean') {
    return void report('VALUE_INVALID', 'nullOnMissing must be true or false', field.name, 'nullOnMissing');
  }
  const nullOnMissing = raw.nullOnMissing === true;
  if (nullOnMissing && field.kind === 'fk' && !field.nullable) {
    return void report('VALUE_INVALID', `${field.name} cannot be null, so nullOnMissing cannot apply`, field.name, 'nullOnMissing');
  }
  const candidate = resolverCandidate(resolver, raw.value, (why) => report('VALUE_INVALID', `${field.name}: ${resolver.name}: ${why}`, field.name, 'value'));
  if (!candidate) return undefined;
  return new PendingRef(resolver.entity, [candidate], nullOnMissing, ref, field.name, field.kind === 'id', resolver.name);
}

/** A resolver's value → the candidate to look up: one value for a single field, an object for a composite key. */
function resolverCandidate(resolver: ResolverDef, value: unknown, bad: (why: string) => void): MatchCandidate | undefined {
  const single = resolver.fields.length === 1;
  const given = single ? { [resolver.fields[0]!.name]: value } : value;
  if (!isObject(given)) return void bad(`expects an object with ${resolver.fields.map((f) => f.name).join(' and ')}, got ${showValue(value)}`);
  const values: unknown[] = [];
  for (const f of resolver.fields) {
    const v = given[f.name];
    const parsed = resolver.entity.validators.get(f.name)!.safeParse(v);
    if (v === null || v === undefined || !parsed.success) {
      const why = parsed.success ? 'a value is needed' : (parsed.error.issues[0]?.message ?? 'invalid value');
      return void bad(`${single ? '' : f.name + ': '}${why}, got ${showValue(v)}`);
    }
    values.push(kindOf(f).toDb(parsed.data));
  }
  if (!single) {
    const extra = Object.keys(given).filter((k) => !resolver.fields.some((f) => f.name === k));
    if (extra.length) return void bad(`unexpected ${extra.join(', ')}; the key is ${resolver.fields.map((f) => f.name).join(' + ')}`);
  }
  return { fields: resolver.fields, values };
}

function planDeleteKeys(op: Operation, problems: Problems): Command {
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
      if (v === undefined || v === null) problems.add('FIELD_REQUIRED', `${k} is part of the key of ${entity.name}`, ref, entity, k);
      else if (!isId(v)) problems.add('ID_INVALID', `${k}: expected a UUID (32 hex characters or the dashed form), got ${showValue(v)}`, ref, entity, k);
      else key[k] = toDbId(v);
    }
    for (const k of Object.keys(item)) {
      if (!entity.fields[k]) problems.add('FIELD_UNKNOWN', `${entity.name} has no field "${k}"`, ref, entity, k);
    }
    if (problems.list.length === before) keys.push({ ref, key });
  });
  return { kind: 'delete', op: op.key, entity, keys };
}

/** `missing` of an upsert → a command run after the payload: criteria checked, `set` validated like a record. */
function planMissing(ctx: PlanContext): Command | undefined {
  const { op, problems } = ctx;
  const missing = op.missing!;
  const meta = { operation: op.key, entity: op.entity.name };
  const parsed = parseCriteria(op.entity, missing.within, pointer(op.key, 'missing', 'within'));
  if (!parsed.ok) {
    for (const p of parsed.problems) problems.addAt(p.code, p.detail, p.pointer ?? '', meta);
    return undefined;
  }
  if (missing.delete) return { kind: 'missing', op: op.key, entity: op.entity, filters: parsed.filters, delete: true };
  const set = new Map<string, unknown>();
  const before = problems.list.length;
  const report: Report = (code, detail, ...at) => problems.addAt(code, detail, pointer(op.key, 'missing', 'set', ...at), meta);
  const ref: RowRef = { op: op.key, index: -1, path: [] };
  for (const [name, raw] of Object.entries(missing.set as Record<string, unknown>)) {
    const field = op.entity.fields[name];
    if (!field) report('FIELD_UNKNOWN', `${op.entity.name} has no field "${name}"`, name);
    else if (op.entity.primaryKey.includes(name)) report('FIELD_WRITE_PROTECTED', `${name} is a key and cannot be set`, name);
    else if ((field.kind === 'fk' || field.kind === 'id') && raw !== null && typeof raw === 'object') report('VALUE_INVALID', `${name}: resolvers are not accepted in missing.set`, name);
    else {
      const v = planField(ctx, op.entity, field, raw, ref, report);
      if (v !== undefined) set.set(name, v);
    }
  }
  if (!set.size && problems.list.length === before) report('VALUE_INVALID', 'set needs at least one field');
  return problems.list.length === before ? { kind: 'missing', op: op.key, entity: op.entity, filters: parsed.filters, set, delete: false } : undefined;
}

export interface PlanResult {
  plans: OperationPlan[];
  /** Every problem found (up to the cap); record problems carry meta.operation and meta.index. */
  problems: Problem[];
}

/** Plans every operation; pure: no database. All problems of the request are collected (up to the cap). */
export function planRequest(registry: Registry, operations: readonly Operation[]): PlanResult {
  const problems = new Problems();
  const plans: OperationPlan[] = [];
  for (const op of operations) {
    const ctx: PlanContext = { registry, op, rows: new RowSet(), problems };
    if (op.action === 'upsert') {
      op.payload!.forEach((record, index) => {
        if (!problems.full) planRecord(ctx, op.entity, record, { op: op.key, index, path: [] }, 0, true);
      });
      const commands: Command[] = ctx.rows.commands(op, registry);
      if (op.missing) {
        const m = planMissing(ctx);
        if (m) commands.push(m);
      }
      plans.push({ operation: op, commands });
    } else if (op.criteria !== undefined) {
      const parsed = parseCriteria(op.entity, op.criteria, pointer(op.key, 'criteria'));
      if (!parsed.ok) {
        for (const p of parsed.problems) problems.addAt(p.code, p.detail, p.pointer ?? '', { operation: op.key, entity: op.entity.name });
        continue;
      }
      plans.push({ operation: op, commands: [{ kind: 'deleteWhere', op: op.key, entity: op.entity, filters: parsed.filters }] });
    } else {
      plans.push({ operation: op, commands: [planDeleteKeys(op, problems)] });
    }
  }
  return { plans, problems: problems.list };
}
