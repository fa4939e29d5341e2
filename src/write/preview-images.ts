import { criteriaToSql } from '../criteria/sql';
import type { Filter } from '../criteria/types';
import type { Sql } from '../db/sql';
import { readSource } from '../definitions/sql/translated';
import type { EntityDef } from '../definitions/types';
import { CHUNK_SIZE, chunks, keyColumns, keyCondition, keyFromRow, keyString, type Key } from './keys';

/** A stored row as the database spells it: column → value, translated fields as columns (in one language). */
export type StoredImage = Readonly<Record<string, unknown>>;

/** Key string (keyString) → the stored row. */
export type Images = Map<string, StoredImage>;

/**
 * The stored rows of `keys`, each with its translated fields in `language` (falling back to the default one, as a
 * read does): a preview diffs what a read would show. One statement per CHUNK_SIZE keys (a chunk of a sync is one).
 */
export async function storedImages(sql: Sql, entity: EntityDef, keys: readonly Key[], language: string): Promise<Images> {
  const out: Images = new Map();
  for (const part of chunks(keys, CHUNK_SIZE)) {
    const params: unknown[] = [];
    const { rows } = await sql.query<Record<string, unknown>>(`SELECT * FROM ${readSource(entity, language)} t WHERE ${keyCondition(entity, part, params, 't')}`, params);
    for (const r of rows) out.set(keyString(entity, keyFromRow(entity, r)), r);
  }
  return out;
}

/**
 * The stored rows inside `filters` that a snapshot clear would reach: those whose key is not among `spared` (the
 * records the operation named; single-column keys, the others are left out by the caller). One statement.
 */
export async function imagesInside(sql: Sql, entity: EntityDef, scope: { filters: readonly Filter[]; spared: readonly string[]; language: string }): Promise<Images> {
  const params: unknown[] = [];
  // Filters on translated fields match the default language, as the clear's own lookup does.
  const inside = criteriaToSql(scope.filters, params, 's') || 'TRUE';
  let where = `${keyColumns(entity, 't')} IN (SELECT ${keyColumns(entity, 's')} FROM ${readSource(entity)} s WHERE ${inside})`;
  if (entity.primaryKey.length === 1 && scope.spared.length) {
    const pk = entity.primaryKey[0]!;
    where += ` AND NOT (${keyCondition(entity, scope.spared.map((k) => ({ [pk]: k })), params, 't')})`;
  }
  const { rows } = await sql.query<Record<string, unknown>>(`SELECT * FROM ${readSource(entity, scope.language)} t WHERE ${where}`, params);
  const out: Images = new Map();
  for (const r of rows) out.set(keyString(entity, keyFromRow(entity, r)), r);
  return out;
}
