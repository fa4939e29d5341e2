import { toDbId } from '../ids';
import { DEFAULT_LANGUAGE_DB_ID } from '../translations';
import type { EntityDef, FieldDef } from '../types';
import { ident } from '../../db/sql';

/**
 * SQL for reading translated fields (see src/definitions/translations.ts). A language id is written into the
 * statement as a literal: it is a validated uuid (re-spelled by toDbId, which keeps hex digits and dashes only).
 */
function languageLiteral(language: string): string {
  return `'${toDbId(language)}'::uuid`;
}

/** The record's own id column of an entity with translations. */
function idColumn(entity: EntityDef): string {
  return ident(entity.fields[entity.primaryKey[0]!]!.column);
}

/**
 * What a read selects from: the entity's table, or for an entity with translated fields its table with one
 * column per translated field holding the value in `language`, else in the default language (field by field).
 * Everything built on `<source> t` (columns, criteria, sorting, keyset) then treats translated fields as columns.
 */
export function readSource(entity: EntityDef, language: string = DEFAULT_LANGUAGE_DB_ID): string {
  const tr = entity.translation;
  if (!tr) return ident(entity.table);
  const lang = toDbId(language);
  const own = idColumn(entity);
  const join = (alias: string, l: string) =>
    `LEFT JOIN ${ident(tr.table)} ${alias} ON ${alias}.${ident(tr.ownerColumn)} = b.${own} AND ${alias}.${ident(tr.languageColumn)} = ${languageLiteral(l)}`;
  const fallback = lang !== DEFAULT_LANGUAGE_DB_ID;
  const cols = tr.fields.map((f) => {
    const c = ident(f.column);
    return `${fallback ? `COALESCE(r.${c}, d.${c})` : `d.${c}`} AS ${c}`;
  });
  return `(SELECT b.*, ${cols.join(', ')} FROM ${ident(entity.table)} b ${join('d', DEFAULT_LANGUAGE_DB_ID)}${fallback ? ' ' + join('r', lang) : ''})`;
}

/** One translated field of the record `alias` (a row of the entity's table) in the default language. */
export function defaultTranslation(entity: EntityDef, field: FieldDef, alias: string): string {
  const tr = entity.translation!;
  return `(SELECT x.${ident(field.column)} FROM ${ident(tr.table)} x WHERE x.${ident(tr.ownerColumn)} = ${alias}.${idColumn(entity)} AND x.${ident(tr.languageColumn)} = ${languageLiteral(DEFAULT_LANGUAGE_DB_ID)})`;
}

/** One translated field of the record whose id is `owner`, every language's value (default first), space-separated. */
export function everyTranslation(entity: EntityDef, field: FieldDef, owner: string): string {
  const tr = entity.translation!;
  const lang = ident(tr.languageColumn);
  return `(SELECT string_agg(x.${ident(field.column)}::text, ' ' ORDER BY x.${lang} <> ${languageLiteral(DEFAULT_LANGUAGE_DB_ID)}, x.${lang}) FROM ${ident(tr.table)} x WHERE x.${ident(tr.ownerColumn)} = ${owner})`;
}
