import { randomUUID } from 'node:crypto';

/**
 * The rows every method writes: products of the catalog (schemas/product.json), as API records for the endpoint
 * and as column values for the raw methods. Both are made from the same objects, so both write the same data.
 */

/** A fresh id in the API spelling (32 lowercase hex); PostgreSQL's uuid input accepts it as it is. */
export function hexId(): string {
  return randomUUID().replace(/-/g, '');
}

export const EUR = 'b7d2554b0ce847cd82f3ac9bd1c0dfca';

export interface Price {
  currencyId: string;
  gross: number;
  net: number;
  linked: boolean;
}

/** Ten fields, every writable product field but manufacturer and externalId. */
export interface Product {
  id: string;
  productNumber: string;
  name: string;
  description: string;
  stock: number;
  price: Price[];
  taxId: string;
  active: boolean;
  ean: string;
  weight: number;
}

export interface CategoryRef {
  id: string;
  name?: string;
}

export interface NestedProduct extends Product {
  categories: CategoryRef[];
}

/** A column value as the raw methods send it (JSON already stringified). */
export type Cell = string | number | boolean | null;

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function priceOf(gross: number): Price[] {
  return [{ currencyId: EUR, gross: round2(gross), net: round2(gross / 1.19), linked: true }];
}

export function makeProduct(taxId: string, n: number, id = hexId()): Product {
  return {
    id,
    productNumber: `SW-${String(n).padStart(7, '0')}`,
    name: `Product ${n}`,
    description: `Plain cotton shirt number ${n}, machine washable at 40 degrees.`,
    stock: n % 100,
    price: priceOf(10 + (n % 500) / 10),
    taxId,
    active: true,
    ean: String(4_000_000_000_000 + n),
    weight: 0.2 + (n % 10) / 10,
  };
}

export function makeProducts(taxId: string, count: number): Product[] {
  return Array.from({ length: count }, (_, i) => makeProduct(taxId, i));
}

/**
 * The update pass: the same records with half of the ten fields changed (name, description, stock, price,
 * weight); id, productNumber, taxId, active and ean stay. Every method is sent the full record.
 */
export function changed(p: Product, round: number): Product {
  return {
    ...p,
    name: `${p.name} (rev ${round})`,
    description: `${p.description} Revised ${round}.`,
    stock: (p.stock + 7 * round) % 1000,
    price: priceOf(p.price[0]!.gross + round),
    weight: round2(p.weight + 0.05 * round),
  };
}

/** The default language: translated fields (name, description) are rows of product_translation in it. */
export const DEFAULT_LANGUAGE = '2fbb5fe2e29a4d70aa5854ce7ce3e20b';

export const PRODUCT_COLUMNS = [
  ['id', 'uuid'],
  ['product_number', 'text'],
  ['stock', 'integer'],
  ['price', 'jsonb'],
  ['tax_id', 'uuid'],
  ['active', 'boolean'],
  ['ean', 'text'],
  ['weight', 'double precision'],
] as const;

export function productCells(p: Product): Cell[] {
  return [p.id, p.productNumber, p.stock, JSON.stringify(p.price), p.taxId, p.active, p.ean, p.weight];
}

export const PRODUCT_TRANSLATION_COLUMNS = [
  ['product_id', 'uuid'],
  ['language_id', 'uuid'],
  ['name', 'text'],
  ['description', 'text'],
] as const;

export function productTranslationCells(p: Product): Cell[] {
  return [p.id, DEFAULT_LANGUAGE, p.name, p.description];
}

/** The same product with its external id, for the raw methods of the data set matched by externalId. */
export const EXTERNAL_ID_COLUMNS = [...PRODUCT_COLUMNS, ['external_id', 'text']] as const;

export function externalIdCells(p: Product): Cell[] {
  return [...productCells(p), externalIdOf(p)];
}

/** The nested case: each product links two existing categories and one new one it creates. */
export interface NestedSet {
  existing: CategoryRef[];
  products: NestedProduct[];
}

export function makeNested(taxId: string, count: number, existingCount = 100): NestedSet {
  const existing = Array.from({ length: existingCount }, (_, i) => ({ id: hexId(), name: `Existing category ${i}` }));
  const products = makeProducts(taxId, count).map((p, i) => ({
    ...p,
    categories: [
      { id: existing[i % existingCount]!.id },
      { id: existing[(i + existingCount / 2) % existingCount]!.id },
      { id: hexId(), name: `New category ${i}` },
    ],
  }));
  return { existing, products };
}

/** Update pass of the nested case: half the product fields change and the new categories are renamed. */
export function changedNested(p: NestedProduct, round: number): NestedProduct {
  return {
    ...changed(p, round),
    categories: p.categories.map((c) => (c.name === undefined ? c : { id: c.id, name: `${c.name.replace(/ \(rev \d+\)$/, '')} (rev ${round})` })),
  };
}

/** The sync body of one upsert operation; `operation` adds fields to it (e.g. matchBy). */
export function syncBody(entity: string, payload: readonly object[], operation: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({ [`write-${entity}`]: { entity, action: 'upsert', ...operation, payload } }));
}

/** How the records of a data set name the record they write. */
export type MatchMode = 'id' | 'externalId' | 'matchBy';

export const MATCH_LABEL: Record<MatchMode, string> = {
  id: 'by id',
  externalId: 'by externalId',
  matchBy: 'by matchBy productNumber',
};

/** What a connector sends: no id; the record is found by its externalId, or by productNumber (matchBy). */
export function asMatched(p: Product, mode: Exclude<MatchMode, 'id'>): object {
  const { id: _id, ...rest } = p;
  return mode === 'externalId' ? { ...rest, externalId: externalIdOf(p) } : rest;
}

/** The external id of a bench product (stable across the passes: derived from its productNumber). */
export function externalIdOf(p: Product): string {
  return `erp-${p.productNumber}`;
}

/**
 * Products for the streamed NDJSON case, made one at a time so that a million never exist at once: ids derived from
 * the number (`idPrefix` + 12 hex digits), so that the update pass names the same records.
 */
export function streamedProduct(taxId: string, idPrefix: string, n: number, round: number): Product {
  const p = makeProduct(taxId, n, idPrefix + n.toString(16).padStart(12, '0'));
  return round ? changed(p, round) : p;
}

export function slices<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}
