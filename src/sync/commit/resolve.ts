import type { Sql } from '../../db/sql';
import { toApiId } from '../../definitions/ids';
import { kindOf } from '../../definitions/kinds';
import type { Registry } from '../../definitions/registry';
import type { EntityDef, FieldDef } from '../../definitions/types';
import type { Problem } from '../../errors';
import { keyString, type Key } from '../../write/keys';
import { lockExisting, lockReferenced, rowsMatching } from '../../write/lookups';
import { mergeRow, refPointer } from '../plan/plan-context';
import { resolveReferences } from './resolve-references';
import { versionConflict } from './version-conflict';
import type { UpsertCommand, UpsertRow } from '../types';

/** Keys each entity has been given by upserts of this request so far (written or about to be). */
export class RequestKeys {
  private readonly byEntity = new Map<string, Set<string>>();
  add(entity: EntityDef, key: Key): void {
    // Only a record with an id of its own can be what a foreign key names (has() is asked with one id): the keys of
    // translation rows and links (a string joined per row of every chunk) would never be asked for.
    if (entity.primaryKey.length !== 1) return;
    const s = this.byEntity.get(entity.name) ?? new Set<string>();
    s.add(keyString(entity, key));
    this.byEntity.set(entity.name, s);
  }
  has(entity: string, keyStr: string): boolean {
    return this.byEntity.get(entity)?.has(keyStr) ?? false;
  }
  /**
   * Forgets the keys of earlier chunks: the lookups see them in the transaction anyway, and a million-record
   * request must not keep a million keys here.
   */
  clear(): void {
    this.byEntity.clear();
  }
  /** A copy to try an operation with; adopt() it when the attempt commits. */
  clone(): RequestKeys {
    const c = new RequestKeys();
    for (const [e, s] of this.byEntity) c.byEntity.set(e, new Set(s));
    return c;
  }
  adopt(other: RequestKeys): void {
    this.byEntity.clear();
    for (const [e, s] of other.byEntity) this.byEntity.set(e, s);
  }
}

export interface ResolvedRow {
  row: UpsertRow;
  key: Key;
  exists: boolean;
  /** The row gives nothing but its key: it names a record, it does not change it. */
  reference: boolean;
}

export interface ResolvedUpsert {
  rows: ResolvedRow[];
  problems: Problem[];
  /** References to records not written yet that a later chunk of the operation may write (see deferred-references.ts). */
  deferred: DeferredReference[];
}

/** A nullable reference to a record of the operation's own entity that is not there yet: written as null, set at the operation's end. */
export interface DeferredReference {
  entity: EntityDef;
  key: Key;
  field: FieldDef;
  value: string;
  row: UpsertRow;
}

export function rowKey(entity: EntityDef, row: UpsertRow): Key {
  const key: Record<string, string> = {};
  for (const k of entity.primaryKey) key[k] = row.values.get(k) as string;
  return key;
}

/** Rows whose keys turned out equal once references were resolved become one write (later fields win). */
export function mergeSameKey(entity: EntityDef, rows: UpsertRow[]): UpsertRow[] {
  const byKey = new Map<string, UpsertRow>();
  const out: UpsertRow[] = [];
  for (const row of rows) {
    const ks = keyString(entity, rowKey(entity, row));
    const prev = byKey.get(ks);
    if (!prev) {
      byKey.set(ks, row);
      out.push(row);
      continue;
    }
    mergeRow(prev, row);
  }
  return out;
}

/** A problem of the record `row` of the command, pointing at `field` when one is named. */
function problem(at: { cmd: UpsertCommand; row: UpsertRow }, code: Problem['code'], detail: string, field?: string): Problem {
  const { cmd, row } = at;
  return {
    code,
    detail,
    pointer: field ? refPointer(row.ref, field) : refPointer(row.ref),
    meta: { operation: row.ref.op, entity: cmd.entity.name, index: row.ref.index },
  };
}

/**
 * Looks up, set-wise, everything an upsert command needs before it writes: which keys exist (locked, in key
 * order), whether new records carry their required fields, whether references point at records that exist
 * (or are written by this request), and whether unique values are free.
 */
export interface UpsertToResolve {
  sql: Sql;
  registry: Registry;
  cmd: UpsertCommand;
  /** Keys this request has written or found so far. */
  known: RequestKeys;
  /** The operation's entity when references to its records may wait for later chunks (fail on error only). */
  deferFor?: string;
}

export async function resolveUpsert({ sql, registry, cmd, known, deferFor }: UpsertToResolve): Promise<ResolvedUpsert> {
  const { entity } = cmd;
  const problems: Problem[] = [];
  const keyed = mergeSameKey(entity, await resolveReferences(sql, cmd, problems)).map((row) => ({ row, key: rowKey(entity, row) }));
  const pk = new Set(entity.primaryKey);
  const hasData = entity.fieldList.some((f) => !pk.has(f.name) && !f.writeProtected);
  // Rows of an entity without own data (mapping rows) are inserted with ON CONFLICT DO NOTHING: no lookup needed.
  // A row that gives nothing but its key only points at its record: it is share-locked (it cannot go away before
  // this request commits) but never locked for update, rewritten or re-indexed, so that linking to a category does
  // not contend with requests that change it.
  // Stored key → its version, as locked.
  const existing = new Map<string, string | null>();
  // (In replace mode a payload record with only its key is a write: everything it leaves out goes back to defaults.
  // A record with a _version is one to check under the update lock, even when it gives nothing else.)
  const isReference = (row: UpsertRow) =>
    !entity.isMapping && !(row.root && cmd.mode === 'replace') && row.version === undefined && [...row.values.keys()].every((k) => pk.has(k));
  if (hasData || keyed.some((r) => r.row.version !== undefined)) {
    const changing = keyed.filter((r) => !isReference(r.row)).map((r) => r.key);
    const pointed = keyed.filter((r) => isReference(r.row)).map((r) => r.key);
    for (const r of await lockExisting(sql, entity, changing, 'update')) existing.set(keyString(entity, r.key), r.version);
    for (const r of await lockExisting(sql, entity, pointed, 'reference')) existing.set(keyString(entity, r.key), r.version);
  }
  for (const { row, key } of keyed) {
    if (row.version === undefined) continue;
    const stored = existing.get(keyString(entity, key));
    if (stored !== row.version) problems.push(versionConflict({ entity, ref: row.ref, sent: row.version, stored: stored ?? null, deleting: false }));
  }
  const rows: ResolvedRow[] = keyed.map(({ row, key }) => ({ row, key, exists: existing.has(keyString(entity, key)), reference: isReference(row) }));
  for (const r of rows) known.add(entity, r.key);

  const required = entity.fieldList.filter((f) => f.required && !f.writeProtected && !pk.has(f.name));
  for (const r of rows) {
    if (r.exists) continue;
    if (!r.row.root && !entity.isMapping && (r.row.reference || [...r.row.values.keys()].every((k) => pk.has(k)))) {
      // A nested record with nothing but its id is a reference to an existing record, not a record to create.
      const id = entity.primaryKey[0]!;
      problems.push(problem({ cmd, row: r.row }, 'FK_NOT_FOUND', `no ${entity.name} with ${id} ${toApiId(String(r.key[id]))}`, id));
      continue;
    }
    if (r.row.requiredChecked) continue;
    for (const f of required) {
      if (!r.row.values.has(f.name)) problems.push(problem({ cmd, row: r.row }, 'FIELD_REQUIRED', `${f.name} is required to create a ${entity.name}`, f.name));
    }
  }
  const deferred: DeferredReference[] = [];
  await checkReferences({ sql, registry, cmd, rows, known, problems, defer: deferFor ? { entity: deferFor, into: deferred } : undefined });
  await checkUnique(sql, cmd, rows, problems);
  return { rows, problems, deferred };
}

/** What the reference check of a command's rows works with. */
interface ReferenceCheck {
  sql: Sql;
  registry: Registry;
  cmd: UpsertCommand;
  rows: readonly ResolvedRow[];
  /** Keys this request has given so far: references to them need no lookup. */
  known: RequestKeys;
  problems: Problem[];
  /** References to records of this entity that may wait for a later chunk go here instead of failing. */
  defer?: { entity: string; into: DeferredReference[] };
}

async function checkReferences({ sql, registry, cmd, rows, known, problems, defer }: ReferenceCheck): Promise<void> {
  for (const f of cmd.entity.fieldList) {
    if (f.kind !== 'fk' || f.writeProtected) continue;
    const target = registry.get(f.references!);
    const wanted = new Set<string>();
    for (const r of rows) {
      const v = r.row.values.get(f.name);
      if (typeof v === 'string' && !known.has(target.name, v)) wanted.add(v);
    }
    if (!wanted.size) continue;
    const found = await lockReferenced(sql, target, [...wanted]);
    for (const r of rows) {
      const v = r.row.values.get(f.name);
      if (typeof v === 'string' && wanted.has(v) && !found.has(v)) {
        if (defer && defer.entity === target.name && f.nullable && !f.required) {
          defer.into.push({ entity: cmd.entity, key: r.key, field: f, value: v, row: r.row });
          continue;
        }
        problems.push(problem({ cmd, row: r.row }, 'FK_NOT_FOUND', `${f.name}: no ${target.name} with id ${kindOf(f).fromDb(v)}`, f.name));
      }
    }
  }
}

async function checkUnique(sql: Sql, cmd: UpsertCommand, rows: readonly ResolvedRow[], problems: Problem[]): Promise<void> {
  const { entity } = cmd;
  for (const uniqueKey of entity.uniqueKeys) {
    const fields = uniqueKey.map((n) => entity.fields[n]!);
    if (fields.some((f) => entity.primaryKey.includes(f.name))) continue;
    // The value (or values) of the key per row, computed once: a string for one field, JSON for several.
    const single = fields.length === 1 ? fields[0]!.name : undefined;
    const tupleOf = (values: readonly unknown[]) => (single ? String(values[0]) : JSON.stringify(values));
    const candidates: { r: ResolvedRow; tuple: string; owner: string }[] = [];
    for (const r of rows) {
      const values = fields.map((f) => r.row.values.get(f.name));
      if (values.some((v) => v == null)) continue;
      candidates.push({ r, tuple: tupleOf(values), owner: keyString(entity, r.key) });
    }
    if (!candidates.length) continue;
    const shown = (t: string) => (single ? JSON.stringify(t) : t);
    const label = uniqueKey.join(' + ');
    // Two records of the request claiming the same value.
    const owner = new Map<string, string>();
    for (const c of candidates) {
      const prev = owner.get(c.tuple);
      if (prev !== undefined && prev !== c.owner) {
        problems.push(problem({ cmd, row: c.r.row }, 'UNIQUE_VIOLATION', `${label} ${shown(c.tuple)} is given to two records of this request`, fields[0]!.name));
      } else owner.set(c.tuple, c.owner);
    }
    // Values held by other records in the table: one query per chunk of distinct values.
    const distinct = [...new Map(candidates.map((c) => [c.tuple, c.r])).values()];
    const taken = new Map<string, string>();
    const held = await rowsMatching(sql, entity, fields, distinct.map((r) => fields.map((f) => r.row.values.get(f.name))));
    for (const h of held) taken.set(tupleOf(h.values), keyString(entity, h.key));
    if (!taken.size) continue;
    for (const c of candidates) {
      const holder = taken.get(c.tuple);
      if (holder !== undefined && holder !== c.owner) {
        problems.push(problem({ cmd, row: c.r.row }, 'UNIQUE_VIOLATION', `${label} ${shown(c.tuple)} is already used by another ${entity.name}`, fields[0]!.name));
      }
    }
  }
}
