import type { Knex } from 'knex';
import type { Registry } from '../registry';
import { DEFAULT_LANGUAGE_CONTEXT, LANGUAGE_ENTITY, type Languages } from '../translations';

/**
 * The languages of the database (a handful of rows, read once per request that needs them): ids and locale
 * codes. Without a language entity in the registry, the default language alone.
 */
export async function loadLanguages(knex: Knex, registry: Registry): Promise<Languages> {
  const entity = registry.find(LANGUAGE_ENTITY);
  const locale = entity?.fields.localeCode;
  if (!entity || !locale) return DEFAULT_LANGUAGE_CONTEXT.languages;
  const rows: { id: string; locale: string }[] = await knex.select(`${entity.fields.id!.column} as id`, `${locale.column} as locale`).from(entity.table);
  return { ids: new Set(rows.map((r) => String(r.id))), byLocale: new Map(rows.map((r) => [String(r.locale).toLowerCase(), String(r.id)])) };
}
