import type { Filter } from '../criteria/types';
import type { Problem } from '../errors';
import type { AssociationDef, EntityDef, FieldDef } from '../definitions/types';

/** What to answer for records of one entity: which fields, and which associations, each with its own selection. */
export interface Selection {
  entity: EntityDef;
  /** Readable fields to answer, in definition order; the primary key is always among them. */
  fields: readonly FieldDef[];
  associations: ReadonlyMap<string, { association: AssociationDef; selection: Selection }>;
  /** The language translated fields are answered in (database spelling; default language when absent). */
  language?: string;
}

export type SortOrder = 'ASC' | 'DESC';

export interface SortKey {
  field: FieldDef;
  order: SortOrder;
  /** A primary key column: never NULL, so the keyset condition needs no NULL branches (and stays index-friendly). */
  notNull?: boolean;
}

/** A validated search request. */
export interface SearchQuery {
  entity: EntityDef;
  filters: readonly Filter[];
  /** The requested order followed by the primary key, which makes every position in it unique. */
  sort: readonly SortKey[];
  limit: number;
  offset: number;
  /** Keyset position: the sort values (PostgreSQL text, or null) of the last record already seen. */
  after?: readonly (string | null)[];
  totalCount: boolean;
  selection: Selection;
}

/** A row as PostgreSQL returned it, keyed by column (plus helper columns prefixed with __). */
export type DbRow = Record<string, unknown>;

/** An answered record: API field names, API values, nested associations. */
export type ApiRecord = { [field: string]: unknown };

/** What every read answers until the HTTP edge: the value, or the problems (code + pointer) that stopped it. */
export type ReadResult<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

export const refuse = (problems: Problem | Problem[]): { ok: false; problems: Problem[] } => ({
  ok: false,
  problems: Array.isArray(problems) ? problems : [problems],
});
