import type { EntityDef, FieldDef } from '../../definitions/types';
import type { OperationPlan, RowRef, UpsertRow } from '../types';

let seq = 0;

/**
 * One way to find the record: a unique key (one field, or several, such as storeId + externalId) and the values it
 * must have (database spelling; a value may itself be a pending reference, e.g. the id of a parent being matched).
 */
export interface MatchCandidate {
  fields: readonly FieldDef[];
  values: readonly unknown[];
  /** A resolver by a non-unique field: found only when exactly one record matches. */
  ambiguous?: boolean;
}

/**
 * The candidate's values as one comparable string, or undefined while a part is still unresolved. Keys are compared
 * only with keys of the same fields, so a single value (an externalId, a productNumber: the usual match) is its own
 * key, without an array and its JSON per record.
 */
export function candidateKey(c: MatchCandidate): string | undefined {
  if (c.values.length === 1) {
    const v = c.values[0];
    if (!(v instanceof PendingRef)) return String(v);
    return typeof v.id === 'string' ? v.id : undefined;
  }
  const parts: string[] = [];
  for (const v of c.values) {
    if (v instanceof PendingRef) {
      if (typeof v.id !== 'string') return undefined;
      parts.push(v.id);
    } else parts.push(String(v));
  }
  return JSON.stringify(parts);
}

/** What a pending reference is made of (see PendingRef). */
export interface PendingRefInit {
  target: EntityDef;
  candidates: readonly MatchCandidate[];
  nullOnMissing: boolean;
  ref: RowRef;
  at: string;
  isOwnKey: boolean;
  resolverName?: string;
}

/**
 * A key not known at planning time: a reference resolver (`{ "resolver": "product.productNumber", "value": … }`),
 * or the id of a record without id matched by its externalId / `matchBy` fields. Planning leaves it pending; the
 * resolve stage tries the candidates in order, with one query per (entity, field), and fills in `id`. The same
 * object is shared by every row that links to it (a parent's id in its children), so resolving it once resolves
 * it everywhere.
 */
export class PendingRef {
  readonly token = `pending:${++seq}`;
  /** Database id once resolved; null when nothing was found and the reference may be null. */
  id: string | null | undefined;
  /** Set when nothing was found and the reference may not be null: rows holding it are not written. */
  failed = false;
  /** Set when nothing was found and a new id was made up (a record created by its match key). */
  created = false;
  /** How many records matched an ambiguous candidate, when more than one did (the reference then fails). */
  matches?: number;
  readonly target: EntityDef;
  readonly candidates: readonly MatchCandidate[];
  readonly nullOnMissing: boolean;
  readonly ref: RowRef;
  /** The field of the referring row, for pointers. */
  readonly at: string;
  /** The reference stands for the record's own id: when nothing is found (and allowed), the record is created. */
  readonly isOwnKey: boolean;
  /** The resolver name the client used, for error messages; undefined for external-id matching. */
  readonly resolverName?: string;
  constructor(what: PendingRefInit) {
    this.target = what.target;
    this.candidates = what.candidates;
    this.nullOnMissing = what.nullOnMissing;
    this.ref = what.ref;
    this.at = what.at;
    this.isOwnKey = what.isOwnKey;
    this.resolverName = what.resolverName;
  }
  get resolved(): boolean {
    return this.id !== undefined;
  }
  /** Back to unresolved, for another attempt against what is committed by then. */
  reset(): void {
    this.id = undefined;
    this.failed = false;
    this.created = false;
    this.matches = undefined;
  }
}

/**
 * Every pending reference of these rows back to unresolved, to be looked up again against what is committed by then
 * (another attempt of a command or chunk, or a re-run of the transaction after a deadlock).
 */
export function forgetResolutions(rows: Iterable<{ values: ReadonlyMap<string, unknown> }>): void {
  for (const r of rows) for (const v of r.values.values()) if (v instanceof PendingRef) v.reset();
}

/** The rows of a plan's upsert commands. */
export function* planRows(plan: OperationPlan): Generator<UpsertRow> {
  for (const c of plan.commands) if (c.kind === 'upsert') yield* c.rows;
}

/** A value as it stands in a row: a pending reference reads as its token until resolved. */
export function keyPart(v: unknown): string {
  if (v instanceof PendingRef) return v.resolved ? String(v.id) : v.token;
  return String(v);
}
