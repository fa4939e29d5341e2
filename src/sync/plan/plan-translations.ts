import { isId, toDbId } from '../../definitions/ids';
import { isObject } from '../../definitions/json';
import { DEFAULT_LANGUAGE_DB_ID, TRANSLATIONS_KEY, type LanguageContext } from '../../definitions/translations';
import type { FieldDef, TranslationDef } from '../../definitions/types';
import { showValue } from '../../errors';
import type { FieldSite, KeyValue, Report } from './plan-context';
import { planField } from './plan-field';
import { FieldValues } from './field-values';

/** What a record gave of its translated fields: plain values (the request's language) and `translations`. */
export interface TranslationInput {
  /** Field name, value, field name, value…: a record names each field once, and a map per record cost more. */
  plain: unknown[];
  translations?: unknown;
  given: boolean;
}

export function newTranslationInput(): TranslationInput {
  return { plain: [], given: false };
}

/** A language named by id (either spelling) or locale code (any case) → its id, or undefined. */
export function languageOf(i18n: LanguageContext, name: string): string | undefined {
  const locale = name.toLowerCase();
  if (isId(name)) {
    const id = toDbId(name);
    return i18n.languages.ids.has(id) ? id : undefined;
  }
  return i18n.languages.byLocale.get(locale);
}

/**
 * A translated field given plainly: validated like any field (pointer at the field), kept for the request's
 * language. Returns nothing: the value goes into a translation row once the record's key is known.
 */
export function planPlainTranslated(site: FieldSite, field: FieldDef, raw: unknown, input: TranslationInput): void {
  input.given = true;
  const v = planField(site, field, raw);
  if (v !== undefined) input.plain.push(field.name, v);
}

/**
 * The translation rows of one record: plain values for the request's language, `translations` (keyed by language
 * id or locale code, or a list with languageId) for the languages it names, a `translations` entry winning over a
 * plain value. The required translated fields given in the default language are copied into the record's own
 * values, so that creating a record without them is FIELD_REQUIRED at the field, as for any required field.
 */
/** What the translation rows of one record are made of, besides where it is planned. */
export interface RecordTranslations {
  tr: TranslationDef;
  input: TranslationInput;
  ownId: KeyValue;
  /** The record's own values: required translated fields given in the default language are copied in. */
  values: Map<string, unknown>;
  root: boolean;
}

/** Entries of a translation row's key (owner and language): a row with no more holds no field. */
const KEY_SIZE = 2;

export function planTranslations(site: FieldSite, record: RecordTranslations): void {
  const { tr, input, ownId } = record;
  // Each language's translation row, its key first: the row itself collects the fields (no map to copy it from).
  // Sized for the fields at hand (plain values alone: exactly those), not every translated field of the entity.
  const newRow = (language: string, fields = tr.fields.length) => new FieldValues(fields + KEY_SIZE).set(tr.ownerKey, ownId).set(tr.languageKey, language);
  if (input.translations !== undefined) return settleRows(site, record, rowsByLanguage(site, record, newRow).values());
  // Plain values alone, the usual import: one row in the request's language, without a map of languages.
  if (!input.plain.length) return;
  const row = newRow(site.ctx.i18n.languageId, input.plain.length / 2);
  setPlain(row, input.plain);
  settleRows(site, record, [row]);
}

function setPlain(row: Map<string, unknown>, plain: readonly unknown[]): void {
  for (let i = 0; i < plain.length; i += 2) row.set(plain[i] as string, plain[i + 1]);
}

/** The rows of plain values and of `translations`, by language id. */
function rowsByLanguage(site: FieldSite, { tr, input }: RecordTranslations, newRow: (language: string) => Map<string, unknown>): Map<string, Map<string, unknown>> {
  const { ctx, entity, ref, report } = site;
  const byLanguage = new Map<string, Map<string, unknown>>();
  const forLanguage = (id: string) => {
    let m = byLanguage.get(id);
    if (!m) byLanguage.set(id, (m = newRow(id)));
    return m;
  };
  if (input.plain.length) setPlain(forLanguage(ctx.i18n.languageId), input.plain);
  const raw = input.translations;
  const entry = (language: string, fields: unknown, at: (string | number)[], skip?: string) => {
    if (!isObject(fields)) return void report('VALUE_INVALID', `a translation must be an object of translated fields, got ${showValue(fields)}`, ...at);
    const sub: Report = (code, detail, ...more) => report(code, detail, ...at, ...more);
    const m = forLanguage(language);
    for (const [name, v] of Object.entries(fields)) {
      if (name === skip) continue;
      const field = tr.fields.find((f) => f.name === name);
      if (!field) {
        sub('FIELD_UNKNOWN', `${name} is not a translated field of ${entity.name} (translated: ${tr.fields.map((f) => f.name).join(', ')})`, name);
        continue;
      }
      const planned = planField({ ctx, entity, ref, report: sub }, field, v);
      if (planned !== undefined) m.set(name, planned);
    }
  };
  if (Array.isArray(raw)) {
    raw.forEach((item, i) => {
      if (!isObject(item)) return void report('VALUE_INVALID', `a translation must be an object with languageId and translated fields, got ${showValue(item)}`, TRANSLATIONS_KEY, i);
      const lang = item[tr.languageKey];
      const id = typeof lang === 'string' ? languageOf(ctx.i18n, lang) : undefined;
      if (id === undefined) {
        return void report(
          lang === undefined ? 'FIELD_REQUIRED' : 'LANGUAGE_NOT_FOUND',
          lang === undefined ? `${tr.languageKey} names the language of this translation` : `no language with id or locale code ${showValue(lang)}`,
          TRANSLATIONS_KEY, i, tr.languageKey,
        );
      }
      entry(id, item, [TRANSLATIONS_KEY, i], tr.languageKey);
    });
  } else if (isObject(raw)) {
    for (const [key, fields] of Object.entries(raw)) {
      const id = languageOf(ctx.i18n, key);
      if (id === undefined) report('LANGUAGE_NOT_FOUND', `no language with id or locale code ${showValue(key)}`, TRANSLATIONS_KEY, key);
      else entry(id, fields, [TRANSLATIONS_KEY, key]);
    }
  } else {
    report('VALUE_INVALID', `${TRANSLATIONS_KEY} must be an object keyed by language id or locale code, or a list of translations with languageId`, TRANSLATIONS_KEY);
  }
  return byLanguage;
}

/**
 * The record's translation rows into the row set: under mode replace, fields left out go back to null in each
 * language given; required translated fields given in the default language are copied into the record's values.
 */
function settleRows({ ctx, ref }: FieldSite, { tr, values, root }: RecordTranslations, rows: Iterable<Map<string, unknown>>): void {
  const replace = ctx.op.mode === 'replace' && root;
  const entity = ctx.registry.get(tr.entity);
  for (const row of rows) {
    if (replace) for (const f of tr.fields) if (!row.has(f.name)) row.set(f.name, null);
    if (row.get(tr.languageKey) === DEFAULT_LANGUAGE_DB_ID) {
      for (const f of tr.fields) {
        const v = row.get(f.name);
        if (f.required && v != null) values.set(f.name, v);
      }
    }
    if (row.size > KEY_SIZE) ctx.rows.add(entity, { ref, values: row, root: false });
  }
}
