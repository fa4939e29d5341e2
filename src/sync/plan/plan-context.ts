import type { Registry } from '../../definitions/registry';
import type { LanguageContext } from '../../definitions/translations';
import type { Lookups } from '../../definitions/sql/reference-tables';
import type { EntityDef } from '../../definitions/types';
import { MAX_REPORTED_ERRORS, pointer, type ErrorCode, type ErrorMeta, type Problem } from '../../errors';
import { keyPart, type PendingRef } from './pending';
import type { Operation, RowRef, UpsertCommand, UpsertRow } from '../types';

/** A key value in planning: an id, or a reference still to be resolved. */
export type KeyValue = string | PendingRef;
export type PlanKey = Record<string, KeyValue>;

export function refPointer(ref: RowRef, ...more: (string | number)[]): string {
  return pointer(ref.op, ref.index, ...ref.path, ...more);
}


export class Problems {
  readonly list: Problem[] = [];
  /** A problem of the record at `where`, pointing at the field path `at` inside it. */
  add(where: { ref: RowRef; entity: EntityDef }, code: ErrorCode, detail: string, ...at: (string | number)[]): void {
    const { ref, entity } = where;
    this.addAt(code, detail, refPointer(ref, ...at), { operation: ref.op, entity: entity.name, index: ref.index });
  }
  addAt(code: ErrorCode, detail: string, ptr: string, meta: ErrorMeta): void {
    if (this.list.length < MAX_REPORTED_ERRORS) this.list.push({ code, detail, pointer: ptr, meta });
  }
  get full(): boolean {
    return this.list.length >= MAX_REPORTED_ERRORS;
  }
}

/**
 * Two rows of one record become one write: later fields win; it is a payload record if either was, and only a
 * reference (its key alone) if both were. Planning merges rows with equal keys, resolving merges rows whose keys
 * turned equal once references were looked up.
 */
export function mergeRow(into: UpsertRow, row: UpsertRow): void {
  // forEach, not for…of: no iterator and entry array per value (a category named by a thousand products merges a
  // thousand times).
  row.values.forEach((v, f) => into.values.set(f, v));
  into.root ||= row.root;
  into.reference = Boolean(into.reference && row.reference);
  if (row.version !== undefined) into.version = row.version;
}

/**
 * Rows of one key, found by the key's parts one after the other: a composite key (a translation row's, a link's) is
 * never joined into one string, so each lookup hashes strings that cache their hash (the parts) instead of a new
 * one per row (which took an eighth of the planning of nested records).
 */
type KeyIndex = Map<string, UpsertRow | KeyIndex>;

/** Rows of one operation gathered per entity; rows with the same key are merged (later fields win). */
export class RowSet {
  private readonly byEntity = new Map<string, { entity: EntityDef; rows: UpsertRow[]; byKey: KeyIndex }>();

  add(entity: EntityDef, row: UpsertRow): void {
    let set = this.byEntity.get(entity.name);
    if (!set) {
      set = { entity, rows: [], byKey: new Map() };
      this.byEntity.set(entity.name, set);
    }
    // The key's parts from the last: a translation row's key is (record, language), and a map per language is a
    // handful for the chunk where a map per record was one more Map per record for the garbage collector.
    const pk = entity.primaryKey;
    let index = set.byKey;
    for (let i = pk.length - 1; i > 0; i--) {
      const part = keyPart(row.values.get(pk[i]!));
      let next = index.get(part) as KeyIndex | undefined;
      if (!next) index.set(part, (next = new Map()));
      index = next;
    }
    const last = keyPart(row.values.get(pk[0]!));
    const prev = index.get(last) as UpsertRow | undefined;
    if (prev) return mergeRow(prev, row);
    index.set(last, row);
    set.rows.push(row);
  }

  commands(op: Operation, registry: Registry): UpsertCommand[] {
    return [...this.byEntity.values()]
      .sort((a, b) => registry.rank(a.entity.name) - registry.rank(b.entity.name))
      .map(({ entity, rows }) => ({ kind: 'upsert', op: op.key, entity, rows, mode: op.mode, isRootEntity: entity.name === op.entity.name, keepsNames: Boolean(op.missing) }));
  }
}

export interface PlanContext {
  registry: Registry;
  op: Operation;
  rows: RowSet;
  problems: Problems;
  /** The request's language (sw-language-id) and the languages `translations` may name. */
  i18n: LanguageContext;
  /** Records that json values reference (itemReferences), read once for the request. */
  lookups: Lookups;
  /** The share of a snapshot a clear may touch unless the operation says otherwise (SYNC_CLEAR_MAX_RATIO). */
  clearMaxRatio?: number;
}

export type Report = (code: ErrorCode, detail: string, ...at: (string | number)[]) => void;

/** Where a value is planned: the chunk's context, the record's entity and place, and where its problems go. */
export interface FieldSite {
  ctx: PlanContext;
  entity: EntityDef;
  ref: RowRef;
  report: Report;
}
