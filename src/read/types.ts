import type { Aggregation } from '../criteria/aggregations';
import type { Filter } from '../criteria/types';
import type { Problem } from '../errors';
import type { AssociationDef, EntityDef, FieldDef } from '../definitions/types';

/** Shopware's `includes`: entity name → the keys its records answer. */
export type Includes = ReadonlyMap<string, ReadonlySet<string>>;

/** What to answer for records of one entity: which fields, and which associations, each with its own selection. */
export interface Selection {
  entity: EntityDef;
  /** Readable fields to answer, in definition order; the primary key is always among them. */
  fields: readonly FieldDef[];
  associations: ReadonlyMap<string, { association: AssociationDef; selection: Selection }>;
  /** The language translated fields are answered in (database spelling; default language when absent). */
  language?: string;
  /** Shopware's `includes` for this entity: the only keys its records answer (absent: all of them). */
  includes?: ReadonlySet<string>;
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
  /** `filter` (with `ids` and `term`): narrows the list, its total and the aggregations. */
  filters: readonly Filter[];
  /** `post-filter`: narrows the list and its total, not the aggregations (facets keep every choice). */
  postFilters: readonly Filter[];
  aggregations: readonly Aggregation[];
  /** `grouping`: one record per distinct combination of these fields' values, the first in the sort order. */
  grouping: readonly FieldDef[];
  includes?: Includes;
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
