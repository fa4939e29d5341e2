import { parseCriteria } from '../../criteria/parse';
import { MAX_NESTING } from '../../definitions/limits';
import { newDbId } from '../../definitions/ids';
import type { Registry } from '../../definitions/registry';
import type { EntityDef } from '../../definitions/types';
import { pointer, showValue, type Problem } from '../../errors';
import { keyPart, PendingRef } from './pending';
import { isObject } from '../../definitions/json';
import { Problems, RowSet, type FieldSite, type KeyValue, type PlanContext, type PlanKey, type Report } from './plan-context';
import { planDeleteKeys, planMissing } from './plan-delete';
import { planField, planVersion } from './plan-field';
import type { Lookups } from '../../definitions/sql/reference-tables';
import { matchCandidates } from './plan-keys';
import { newTranslationInput, planPlainTranslated, planTranslations, type TranslationInput } from './plan-translations';
import { DEFAULT_LANGUAGE_CONTEXT, TRANSLATIONS_KEY, type LanguageContext } from '../../definitions/translations';
import type { Command, Operation, RowRef, UpsertRow } from '../types';
import { VERSION_FIELD } from '../../definitions/record-version';
import { FieldValues } from './field-values';

export { refPointer } from './plan-context';

/** Nested records are matched by their match keys only (one array for all: matchCandidates keeps its keys per array). */
const NO_MATCH_BY: readonly string[] = Object.freeze([]);

/** The path of every payload record (shared: 100,000 records need not carry 100,000 empty arrays). */
const ROOT_PATH: readonly (string | number)[] = Object.freeze([]);


/** Mode replace resets what is not given: every required field must be there. */
function requireForReplace(entity: EntityDef, record: Record<string, unknown>, values: Map<string, unknown>, report: Report): void {
  for (const f of entity.fieldList) {
    if (f.required && !f.writeProtected && !entity.primaryKey.includes(f.name) && !values.has(f.name) && !Object.hasOwn(record, f.name)) {
      report('FIELD_REQUIRED', `${f.name} is required with mode replace`, f.name);
    }
  }
}

/** Whether a record gives its key and nothing else (a reference to a record, not data to write). */
function onlyKey(entity: EntityDef, record: Record<string, unknown>): boolean {
  for (const k in record) if (!entity.primaryKey.includes(k)) return false;
  return true;
}

/**
 * Validates one record and flattens its nested records into the row set. Returns the record's primary key for
 * the parent to link to, or undefined when the key itself is unusable.
 */
/** A record to plan: what it is, where it stands, and the key values its parent fixes (a one-to-many's foreign key). */
interface RecordNode {
  entity: EntityDef;
  record: unknown;
  ref: RowRef;
  depth: number;
  root: boolean;
  fixed?: Record<string, KeyValue>;
}

function planRecord(ctx: PlanContext, { entity, record, ref, depth, root, fixed }: RecordNode): PlanKey | undefined {
  const { registry, problems } = ctx;
  const report: Report = (code, detail, ...at) => problems.add({ ref, entity }, code, detail, ...at);
  const site: FieldSite = { ctx, entity, ref, report };
  if (!isObject(record)) return void report('VALUE_INVALID', `a ${entity.name} record must be an object, got ${showValue(record)}`);
  if (depth > MAX_NESTING) return void report('VALUE_INVALID', `records nest at most ${MAX_NESTING} levels deep`);
  // Sized for what the record gives (its own properties, the parent's key values, a generated key): a product's
  // values array sized for every field of the entity was a tenth of what planning allocated, most of it unused.
  let given = fixed ? 1 + Object.keys(fixed).length : 1;
  for (const _ in record) given++;
  const values = new FieldValues(Math.min(given, entity.fieldList.length));
  let nested: [string, unknown][] | undefined;
  const translation = entity.translation;
  // Made at the first translated value: most nested records (a category named by its id) give none.
  let translated: TranslationInput | undefined;
  let version: string | undefined;
  // for…in rather than Object.entries: no array per field of every record. A parsed record's only prototype is
  // Object.prototype, whose properties are not enumerable; "__proto__" is read as the own property it is.
  for (const name in record) {
    const raw = name === '__proto__' ? Object.getOwnPropertyDescriptor(record, name)?.value : record[name];
    const field = entity.fields[name];
    if (name === VERSION_FIELD) version = planVersion(raw, report);
    else if (translation && field?.translated) planPlainTranslated(site, field, raw, (translated ??= newTranslationInput()));
    else if (translation && name === TRANSLATIONS_KEY) {
      translated ??= newTranslationInput();
      translated.translations = raw;
      translated.given = true;
    } else if (field) {
      const v = planField(site, field, raw);
      if (v !== undefined) values.set(name, v);
    } else if (entity.associations[name]) (nested ??= []).push([name, raw]);
    else report('FIELD_UNKNOWN', `${entity.name} has no field or association "${name}"`, name);
  }
  if (fixed) {
    for (const [name, v] of Object.entries(fixed)) {
      const given = values.get(name);
      if (given !== undefined && keyPart(given) !== keyPart(v)) report('VALUE_INVALID', `${name} contradicts the record it is nested in`, name);
      values.set(name, v);
    }
  }

  // The key: given, matched by externalId / matchBy (found or created by the resolve stage), or a new UUIDv7.
  const single = entity.primaryKey.length === 1 ? entity.fields[entity.primaryKey[0]!]! : undefined;
  if (translated?.given && !single) report('VALUE_INVALID', `${entity.name} has a composite key; its translations cannot be linked`);
  // A record with neither key nor match key is certainly new: its required fields are checked here, with the rest
  // of its problems, instead of after the lookups that a failing request never gets to.
  let certainlyNew = false;
  if (single && single.kind === 'id' && values.get(single.name) == null) {
    const candidates = matchCandidates(entity, values, root ? ctx.op.matchBy : NO_MATCH_BY);
    certainlyNew = !candidates.length && !(single.name in record);
    values.set(single.name, candidates.length ? new PendingRef({ target: entity, candidates, nullOnMissing: true, ref, at: single.name, isOwnKey: true }) : newDbId());
  }
  let keyMissing = false;
  for (const k of entity.primaryKey) {
    if (values.get(k) != null) continue;
    keyMissing = true;
    // A key field that was given but refused has its error already.
    if (!(k in record) || record[k] === null) report('FIELD_REQUIRED', `${k} is part of the key of ${entity.name}`, k);
  }
  const replace = root && ctx.op.mode === 'replace';
  if (keyMissing) return void (replace && requireForReplace(entity, record, values, report));
  const key: PlanKey = {};
  for (const k of entity.primaryKey) key[k] = values.get(k) as KeyValue;
  const ownId = single ? key[single.name]! : undefined;
  if (translation && translated?.given && ownId) planTranslations(site, { tr: translation, input: translated, ownId, values, root });
  // After the translations: a required translated field given in the default language's translation counts as given.
  if (replace) requireForReplace(entity, record, values, report);

  for (const [name, raw] of nested ?? []) {
    const assoc = entity.associations[name]!;
    const target = registry.get(assoc.entity);
    if (assoc.type === 'manyToOne') {
      if (!isObject(raw)) {
        report('VALUE_INVALID', `${name} must be a ${target.name} record; to unset the reference send "${assoc.via}": null`, name);
        continue;
      }
      const childKey = planRecord(ctx, { entity: target, record: raw, ref: { ...ref, path: [...ref.path, name] }, depth: depth + 1, root: false });
      if (!childKey) continue;
      const id = childKey[target.primaryKey[0]!]!;
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
        planRecord(ctx, { entity: target, record: child, ref: childRef, depth: depth + 1, root: false, fixed: { [assoc.foreignKey]: ownId } });
        return;
      }
      const targetKey = planRecord(ctx, { entity: target, record: child, ref: childRef, depth: depth + 1, root: false });
      if (!targetKey) return;
      ctx.rows.add(registry.get(assoc.mapping), {
        ref: childRef,
        values: new FieldValues(2).set(assoc.localKey, ownId).set(assoc.targetKey, targetKey[target.primaryKey[0]!]!),
        root: false,
      });
    });
  }
  const reference = !root && onlyKey(entity, record);
  if (certainlyNew) {
    for (const f of entity.fieldList) {
      if (f.required && !f.writeProtected && !entity.primaryKey.includes(f.name) && !values.has(f.name) && record[f.name] === undefined) {
        report('FIELD_REQUIRED', `${f.name} is required to create a ${entity.name}`, f.name);
      }
    }
  }
  const row: UpsertRow = { ref, values, root, reference, requiredChecked: certainlyNew };
  if (version !== undefined) row.version = version;
  ctx.rows.add(entity, row);
  return key;
}


/** What planning needs besides the records: the request's language and the records json values reference. */
export interface PlanInputs {
  i18n: LanguageContext;
  lookups: Lookups;
  /** SYNC_CLEAR_MAX_RATIO: the share of a snapshot a clear may touch unless the operation says otherwise. */
  clearMaxRatio?: number;
}

const NO_INPUTS: PlanInputs = { i18n: DEFAULT_LANGUAGE_CONTEXT, lookups: new Map() };

/**
 * Plans one chunk of an operation's payload (records numbered from `firstIndex`); no database. Each record is let
 * go once planned: the plan holds what it needs, and parsed records (several times their JSON) need not stay alive
 * next to it.
 */
/** One chunk of an operation's payload to plan; records are numbered from `firstIndex` within the operation. */
export interface ChunkToPlan {
  registry: Registry;
  op: Operation;
  records: unknown[];
  firstIndex: number;
  problems: Problems;
  inputs?: PlanInputs;
}

export function planChunk(chunk: ChunkToPlan): Command[] {
  if (chunk.op.action === 'delete') return [planDeleteKeys(chunk.op, chunk.records, chunk.firstIndex, chunk.problems)];
  const planner = recordPlanner(chunk);
  for (let i = 0; i < chunk.records.length; i++) planner.plan(i);
  return planner.commands();
}

/**
 * Records planned between two pauses of planChunkPausing: 50 flat products take about 0.4 ms, the longest an answer of
 * PostgreSQL waits for the service (200 left it waiting about 1.6 ms per round trip, several per chunk).
 */
const PLAN_SLICE = 50;

/**
 * planChunk for the endpoint, which plans a chunk while PostgreSQL writes the one before: it pauses every
 * PLAN_SLICE records (`pause` lets the event loop run), so that an answer of PostgreSQL is taken up and the next
 * statement sent at once instead of after the whole chunk's planning (tens of milliseconds in which the connection
 * would wait for the service).
 */
export async function planChunkPausing(chunk: ChunkToPlan, pause: () => Promise<void>): Promise<Command[]> {
  if (chunk.op.action === 'delete') return planChunk(chunk);
  const planner = recordPlanner(chunk);
  for (let i = 0; i < chunk.records.length; i++) {
    if (i && i % PLAN_SLICE === 0) await pause();
    planner.plan(i);
  }
  return planner.commands();
}

function recordPlanner({ registry, op, records, firstIndex, problems, inputs = NO_INPUTS }: ChunkToPlan) {
  const ctx: PlanContext = { registry, op, rows: new RowSet(), problems, ...inputs };
  return {
    plan(i: number): void {
      if (!problems.full) planRecord(ctx, { entity: op.entity, record: records[i], ref: { op: op.key, index: firstIndex + i, path: ROOT_PATH }, depth: 0, root: true });
      records[i] = undefined;
    },
    commands: () => ctx.rows.commands(op, registry),
  };
}

/** What an operation runs after its payload: the snapshot clear of an upsert, or a delete by criteria. */
export function planOperationEnd(registry: Registry, op: Operation, problems: Problems, inputs: PlanInputs = NO_INPUTS): Command[] {
  if (op.action === 'upsert') {
    if (!op.missing) return [];
    const m = planMissing({ registry, op, rows: new RowSet(), problems, ...inputs });
    return m ? [m] : [];
  }
  if (op.criteria === undefined) return [];
  const parsed = parseCriteria(op.entity, op.criteria, pointer(op.key, 'criteria'));
  if (!parsed.ok) {
    for (const p of parsed.problems) problems.addAt(p.code, p.detail, p.pointer ?? '', { operation: op.key, entity: op.entity.name });
    return [];
  }
  return [{ kind: 'deleteWhere', op: op.key, entity: op.entity, filters: parsed.filters }];
}
