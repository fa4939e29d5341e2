import { showValue, type Problem } from '../errors';
import type { DefinitionFile } from './definition-file';
import { isId, toDbId } from './ids';

/**
 * Translated fields (see docs/adding-entities.md, "Translated fields"): a field marked `"translated": true` is
 * stored per language in the table `<entity>_translation`, an entity of its own that the loader derives from the
 * owning definition, so that the entity stays described in one place.
 */

/** The entity every translation row points at; a registry with translated fields must define it. */
export const LANGUAGE_ENTITY = 'language';
/** The default language (en-GB), Shopware's id: it exists from the first migration and cannot be deleted. */
export const DEFAULT_LANGUAGE_ID = '2fbb5fe2e29a4d70aa5854ce7ce3e20b';
/** The operation field holding several languages at once, and the association listing the translation rows. */
export const TRANSLATIONS_KEY = 'translations';
/** The field of the translation entity naming the language. */
export const LANGUAGE_KEY = 'languageId';

export function translationEntityName(entity: string): string {
  return `${entity}_translation`;
}

/** `product_manufacturer` → `productManufacturerId`: the translation entity's key field naming its record. */
export function ownerKeyName(entity: string): string {
  return entity.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()) + 'Id';
}

/** The definition of `<entity>_translation`, derived from the translated fields of the owning definition. */
export function translationDefinition(def: DefinitionFile): DefinitionFile | undefined {
  const translated = Object.entries(def.fields).filter(([, f]) => f.translated);
  if (!translated.length) return undefined;
  const owner = ownerKeyName(def.entity);
  const fields: DefinitionFile['fields'] = {
    [owner]: { kind: 'fk', references: def.entity, onDelete: 'cascade', column: `${def.table ?? def.entity}_id` },
    [LANGUAGE_KEY]: { kind: 'fk', references: LANGUAGE_ENTITY, onDelete: 'cascade' },
  };
  // In a language other than the default one any translated field may be left out: required is checked on the
  // owning record, in the default language.
  for (const [name, f] of translated) {
    const { translated: _t, required: _r, ...rest } = f;
    fields[name] = rest;
  }
  return {
    entity: translationEntityName(def.entity),
    table: translationEntityName(def.table ?? def.entity),
    description: `Translations of ${def.entity} (one row per record and language), derived from its translated fields`,
    primaryKey: [owner, LANGUAGE_KEY],
    ...(def.readOnly ? { readOnly: true } : {}),
    fields,
  };
}

/** The languages known to a request: ids (database spelling) and locale codes (lower-cased) → id. */
export interface Languages {
  ids: ReadonlySet<string>;
  byLocale: ReadonlyMap<string, string>;
}

/** The request's language and the known ones; planning and reading without a database see the default only. */
export interface LanguageContext {
  languages: Languages;
  /** The language of plain translated values and of reads (sw-language-id), database spelling. */
  languageId: string;
}

export const DEFAULT_LANGUAGE_DB_ID = '2fbb5fe2-e29a-4d70-aa58-54ce7ce3e20b';

export const DEFAULT_LANGUAGE_CONTEXT: LanguageContext = {
  languages: { ids: new Set([DEFAULT_LANGUAGE_DB_ID]), byLocale: new Map([['en-gb', DEFAULT_LANGUAGE_DB_ID]]) },
  languageId: DEFAULT_LANGUAGE_DB_ID,
};

/** The header naming the request's language, as Shopware calls it. */
export const LANGUAGE_HEADER = 'sw-language-id';

/**
 * The value of sw-language-id (absent: the default language) → the request's language context, or the problem
 * (412 LANGUAGE_NOT_FOUND, as Shopware answers an unknown language id).
 */
export function languageContext(header: unknown, languages: Languages): { ok: true; value: LanguageContext } | { ok: false; problem: Problem } {
  const raw = Array.isArray(header) ? header[0] : header;
  if (raw === undefined || String(raw).trim() === '') return { ok: true, value: { languages, languageId: DEFAULT_LANGUAGE_DB_ID } };
  const v = String(raw).trim();
  const id = isId(v) ? toDbId(v) : undefined;
  if (!id || !languages.ids.has(id)) {
    return {
      ok: false,
      problem: { code: 'LANGUAGE_NOT_FOUND', status: 412, detail: `${LANGUAGE_HEADER} names no language: ${showValue(v)} (expected the id of a language)`, pointer: '' },
    };
  }
  return { ok: true, value: { languages, languageId: id } };
}
