import type { Filter } from '../../criteria/types';
import { ident } from '../../db/sql';
import { toDbId } from '../../definitions/ids';
import { DEFAULT_LANGUAGE_DB_ID } from '../../definitions/translations';
import type { EntityDef } from '../../definitions/types';
import { filteredFields } from './source';

/**
 * The product listing table (migration 20261207000000_product_listing): one row per product and category of its
 * `categoryTree`, with the columns a category page sorts, filters and aggregates by, kept by the database on every
 * write. Its index holds each category's products in name order with those columns, so that a listing reads its
 * category's entries instead of its products' rows. It holds names in the default language only: a search in
 * another language reads the product table as before.
 */
const LISTING = {
  entity: 'product',
  table: 'product_listing',
  /** The filter `equals <tree> <category id>` is what the table answers by its first key. */
  tree: 'categoryTree',
  category: 'category_id',
  /** Field → listing column; the source names each column as the product table does. */
  fields: { id: 'product_id', name: 'name', manufacturerId: 'manufacturer_id', stock: 'stock', active: 'active' } as Record<string, string>,
  /** Many-to-many associations whose target ids the table holds as an array (what a facet on them reads). */
  arrays: { properties: 'property_ids' } as Record<string, string>,
};

/** The column of the listing source holding an association's target ids. */
export const arrayColumn = (association: string) => `__ids_${association}`;

export interface ListingRequest {
  entity: EntityDef;
  language?: string;
  /** The filters of the searched records, ANDed (the tree filter among them). */
  filters: readonly Filter[];
  /** Own fields the statement reads besides the filters' (sort keys, aggregated fields), by name. */
  fields: ReadonlySet<string>;
}

export interface ListingSource {
  /** `(SELECT … FROM product_listing l WHERE l.category_id = $n)`: the category's records, columns named as in the entity's table. */
  source: string;
  /** The request's filters but the tree filter the source applies. */
  filters: Filter[];
  /** Association name → the source's column of target ids (see arrayColumn). */
  arrays: ReadonlyMap<string, string>;
}

const isTreeFilter = (f: Filter) => f.type === 'equals' && f.field.name === LISTING.tree && typeof f.value === 'string';

/**
 * The listing as the source of a search's records, when it can answer it: the product entity in the default
 * language, filtered by one category (`equals categoryTree`), every other filter, sort key and aggregated field
 * among the listing's columns. Undefined otherwise: the caller reads the entity's table.
 */
export function listingSource(req: ListingRequest, params: unknown[]): ListingSource | undefined {
  if (req.entity.name !== LISTING.entity) return undefined;
  if (req.language !== undefined && toDbId(req.language) !== DEFAULT_LANGUAGE_DB_ID) return undefined;
  const at = req.filters.findIndex(isTreeFilter);
  if (at < 0) return undefined;
  const filters = req.filters.filter((_, i) => i !== at);
  const covered = (name: string) => Object.hasOwn(LISTING.fields, name);
  if (![...req.fields, ...filteredFields(filters)].every(covered)) return undefined;
  const tree = req.filters[at] as Extract<Filter, { type: 'equals' }>;
  const columns = Object.entries(LISTING.fields).map(([field, c]) => `l.${ident(c)} AS ${ident(req.entity.fields[field]!.column)}`);
  const arrays = new Map(Object.keys(LISTING.arrays).map((a) => [a, arrayColumn(a)]));
  for (const [a, c] of Object.entries(LISTING.arrays)) columns.push(`l.${ident(c)} AS ${ident(arrayColumn(a))}`);
  params.push(tree.value);
  const category = `$${params.length}::uuid`;
  return { source: `(SELECT ${columns.join(', ')} FROM ${ident(LISTING.table)} l WHERE l.${ident(LISTING.category)} = ${category})`, filters, arrays };
}
