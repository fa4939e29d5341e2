import type { EntityDef, FieldDef } from '../definitions/types';
import type { RowRef } from './types';

let seq = 0;

/**
 * A key that a record gives by a natural key instead of an id: `{ "resolver": "product.productNumber", "value": … }`.
 * Planning leaves it pending; the resolve stage looks up all pending references of a command with one query per
 * (entity, field) and fills in `id`. The same object is shared by every row that links to it (a parent's id in its
 * children), so resolving it once resolves it everywhere.
 */
export class PendingRef {
  readonly token = `pending:${++seq}`;
  /** Database id once resolved; null when unresolved and nullOnMissing allowed it. */
  id: string | null | undefined;
  /** Set when the lookup found nothing and the reference may not be null: rows holding it are not written. */
  failed = false;
  constructor(
    readonly target: EntityDef,
    readonly field: FieldDef,
    readonly value: unknown,
    readonly nullOnMissing: boolean,
    readonly ref: RowRef,
    readonly at: string,
    /** The reference stands for the record's own id: unresolved with nullOnMissing, the record is created. */
    readonly isOwnKey: boolean,
  ) {}
  get resolved(): boolean {
    return this.id !== undefined;
  }
}

/** A value as it stands in a row: a pending reference reads as its token until resolved. */
export function keyPart(v: unknown): string {
  if (v instanceof PendingRef) return v.resolved ? String(v.id) : v.token;
  return String(v);
}
