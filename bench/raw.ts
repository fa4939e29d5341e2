import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import {
  DEFAULT_LANGUAGE,
  EXTERNAL_ID_COLUMNS,
  externalIdCells,
  PRODUCT_COLUMNS,
  PRODUCT_TRANSLATION_COLUMNS,
  productCells,
  productTranslationCells,
  slices,
  type Cell,
  type MatchMode,
  type NestedProduct,
  type Product,
} from './rows';

/**
 * The baseline: the fastest ways we know to upsert the same rows from Node with `pg` alone. No HTTP, no
 * validation, no lookups: one transaction, one statement per large chunk.
 */

export type RawMethod = 'unnest' | 'copy';
export const RAW_METHODS: readonly RawMethod[] = ['unnest', 'copy'];

export const RAW_LABEL: Record<RawMethod, string> = {
  unnest: 'raw INSERT … SELECT FROM unnest() ON CONFLICT',
  copy: 'raw COPY → temp table → INSERT … ON CONFLICT',
};

/** Rows per unnest statement (the service's own CHUNK_SIZE is the same). */
export const UNNEST_CHUNK = 10_000;

export interface TableWrite {
  table: string;
  columns: readonly (readonly [string, string])[];
  key: readonly string[];
  /** Mapping rows carry nothing but their key: an existing link stays (DO NOTHING). */
  onConflict: 'update' | 'nothing';
  /** Columns written on insert and left alone on conflict (the id of a record matched by another unique key). */
  insertOnly?: readonly string[];
  rows: Cell[][];
}

function quote(name: string): string {
  return `"${name}"`;
}

/** jsonb travels as text in arrays (a jsonb[] literal would need double escaping) and is cast after unnest. */
function paramType(sqlType: string): string {
  return sqlType === 'jsonb' ? 'text' : sqlType;
}

function conflictClause(w: Omit<TableWrite, 'rows'>): string {
  const keys = new Set([...w.key, ...(w.insertOnly ?? [])]);
  const nonKey = w.columns.map(([c]) => c).filter((c) => !keys.has(c));
  const target = `ON CONFLICT (${w.key.map(quote).join(', ')})`;
  if (w.onConflict === 'nothing' || !nonKey.length) return `${target} DO NOTHING`;
  return `${target} DO UPDATE SET ${nonKey.map((c) => `${quote(c)} = EXCLUDED.${quote(c)}`).join(', ')}, updated_at = now()`;
}

async function writeUnnest(client: pg.Client, w: TableWrite): Promise<void> {
  const cols = w.columns.map(([c]) => quote(c)).join(', ');
  const select = w.columns.map(([c, t]) => (paramType(t) === t ? `v.${quote(c)}` : `v.${quote(c)}::${t}`)).join(', ');
  const arrays = w.columns.map(([, t], i) => `$${i + 1}::${paramType(t)}[]`).join(', ');
  const text =
    `INSERT INTO ${quote(w.table)} (${cols}, created_at) SELECT ${select}, now() ` +
    `FROM unnest(${arrays}) AS v(${cols}) ${conflictClause(w)}`;
  for (const chunk of slices(w.rows, UNNEST_CHUNK)) {
    const params = w.columns.map((_, i) => chunk.map((r) => r[i]));
    await client.query(text, params);
  }
}

/** One value in COPY's text format. */
function copyText(v: Cell): string {
  if (v === null) return '\\N';
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (typeof v === 'number') return String(v);
  return v.replace(/[\\\n\r\t]/g, (ch) => (ch === '\\' ? '\\\\' : ch === '\n' ? '\\n' : ch === '\r' ? '\\r' : '\\t'));
}

function* copyLines(rows: Iterable<Cell[]>, batch = 1000): Generator<string> {
  let out = '';
  let n = 0;
  for (const row of rows) {
    out += row.map(copyText).join('\t') + '\n';
    if (++n === batch) {
      yield out;
      out = '';
      n = 0;
    }
  }
  if (out) yield out;
}

/** COPY of the rows into a temporary table, then one INSERT … SELECT … ON CONFLICT, inside the caller's transaction. */
async function writeCopy(client: pg.Client, w: Omit<TableWrite, 'rows'>, rows: Iterable<Cell[]>): Promise<void> {
  const stage = `bench_stage_${w.table}`;
  const cols = w.columns.map(([c]) => quote(c)).join(', ');
  await client.query(`CREATE TEMP TABLE ${stage} (${w.columns.map(([c, t]) => `${quote(c)} ${t}`).join(', ')}) ON COMMIT DROP`);
  await pipeline(Readable.from(copyLines(rows)), client.query(copyFrom(`COPY ${stage} (${cols}) FROM STDIN`)));
  await client.query(`INSERT INTO ${quote(w.table)} (${cols}, created_at) SELECT ${cols}, now() FROM ${stage} ${conflictClause(w)}`);
}

/** A table's rows made one at a time (a million never exist at once in the bench client). */
export interface StreamedWrite {
  write: Omit<TableWrite, 'rows'>;
  rows: Iterable<Cell[]>;
}

/** raw COPY of streamed rows, table after table (foreign keys first), in one transaction. */
export async function rawCopyStreamed(client: pg.Client, writes: readonly StreamedWrite[]): Promise<void> {
  await client.query('BEGIN');
  try {
    for (const { write, rows } of writes) await writeCopy(client, write, rows);
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** Writes the tables in order (foreign keys first) in one transaction. */
export async function rawWrite(client: pg.Client, method: RawMethod, writes: readonly TableWrite[]): Promise<void> {
  await client.query('BEGIN');
  try {
    for (const w of writes) {
      if (!w.rows.length) continue;
      if (method === 'unnest') await writeUnnest(client, w);
      else await writeCopy(client, w, w.rows);
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** A product is its row and its default-language translation (name, description). */
export function productWrites(products: readonly Product[]): TableWrite[] {
  return [
    { table: 'product', columns: PRODUCT_COLUMNS, key: ['id'], onConflict: 'update', rows: products.map(productCells) },
    { table: 'product_translation', columns: PRODUCT_TRANSLATION_COLUMNS, key: ['product_id', 'language_id'], onConflict: 'update', rows: products.map(productTranslationCells) },
  ];
}

/** Categories with a name: their rows, then their default-language translations. */
export function categoryWrites(categories: readonly { id: string; name: string }[]): TableWrite[] {
  return [
    { table: 'category', columns: [['id', 'uuid']], key: ['id'], onConflict: 'nothing', rows: categories.map((c) => [c.id]) },
    {
      table: 'category_translation',
      columns: [['category_id', 'uuid'], ['language_id', 'uuid'], ['name', 'text']],
      key: ['category_id', 'language_id'],
      onConflict: 'update',
      rows: categories.map((c) => [c.id, DEFAULT_LANGUAGE, c.name]),
    },
  ];
}

/**
 * The products as a connector matching by externalId or productNumber writes them raw: upserted on that unique key,
 * the id (made up by the client on insert) never changed by an update.
 */
/** Products matched by a unique field instead of their id: their rows by that field, then their translations. */
export function matchedProductWrites(products: readonly Product[], mode: Exclude<MatchMode, 'id'>): TableWrite[] {
  const rows: TableWrite =
    mode === 'externalId'
      ? { table: 'product', columns: EXTERNAL_ID_COLUMNS, key: ['external_id'], insertOnly: ['id'], onConflict: 'update', rows: products.map(externalIdCells) }
      : { table: 'product', columns: PRODUCT_COLUMNS, key: ['product_number'], insertOnly: ['id'], onConflict: 'update', rows: products.map(productCells) };
  return [
    rows,
    { table: 'product_translation', columns: PRODUCT_TRANSLATION_COLUMNS, key: ['product_id', 'language_id'], onConflict: 'update', rows: products.map(productTranslationCells) },
  ];
}

/** The nested case as tables: the categories that carry data, the products, then the links. */
export function nestedWrites(products: readonly NestedProduct[]): TableWrite[] {
  const categories = new Map<string, { id: string; name: string }>();
  const links: Cell[][] = [];
  for (const p of products) {
    for (const c of p.categories) {
      if (c.name !== undefined) categories.set(c.id, { id: c.id, name: c.name });
      links.push([p.id, c.id]);
    }
  }
  return [
    ...categoryWrites([...categories.values()]),
    ...productWrites(products),
    {
      table: 'product_category',
      columns: [['product_id', 'uuid'], ['category_id', 'uuid']],
      key: ['product_id', 'category_id'],
      onConflict: 'nothing',
      rows: links,
    },
  ];
}
