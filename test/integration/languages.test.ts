import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { migratedBefore } from '../support/older-schema';
import { sync } from '../support/sync';
import { DE_LANGUAGE, EN_LANGUAGE } from '../fixtures/catalog';

/** The migration that makes the languages of a fresh database. */
const LANGUAGES_MIGRATION = '20261206100000_default_languages.js';

const languages = (t: TestApp) => t.knex('language').orderBy('locale_code').select('id', 'locale_code', 'name');
const hex = (uuid: string) => uuid.replace(/-/g, '');

describe('a fresh database', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it("has a fresh Shopware install's languages: en-GB (the system default) and de-DE", async () => {
    const rows = await languages(t);
    expect(rows.map((r) => ({ ...r, id: hex(r.id) }))).toEqual([
      { id: DE_LANGUAGE, locale_code: 'de-DE', name: 'Deutsch' },
      { id: EN_LANGUAGE, locale_code: 'en-GB', name: 'English' },
    ]);
  });

  it('answers 200 to the seed example of the sync docs with a de-DE translation, with no language made by hand', async () => {
    const res = await sync(t.app, {
      'write-tax': { entity: 'tax', action: 'upsert', payload: [{ name: 'tax-1', taxRate: 16 }] },
      'write-category': {
        entity: 'category',
        action: 'upsert',
        payload: [{ name: 'category-1', translations: { 'de-DE': { name: 'Kategorie-1' } } }, { translations: { 'en-GB': { name: 'category-2' }, 'de-DE': { name: 'Kategorie-2' } } }],
      },
      'write-country': { entity: 'country', action: 'upsert', payload: [{ name: 'country-1', translations: [{ languageId: DE_LANGUAGE, name: 'Land-1' }] }] },
    });
    expect(res.status).toBe(200);
    expect(res.body.data.category_translation).toHaveLength(4);
    const id = res.body.data.category[0];
    const german = await request(t.app).get(`/api/category/${id}`).set('sw-language-id', DE_LANGUAGE).expect(200);
    expect(german.body.data.name).toBe('Kategorie-1');
  });
});

describe('LANGUAGES', () => {
  let t: TestApp;
  beforeAll(async () => {
    // A database of its own, not a copy of the migrated template: the languages migration must run with LANGUAGES.
    t = await startTestApp({ LANGUAGES: 'de-DE:Deutsch, en-GB:English, fr-FR:Français' }, { prepare: async () => undefined });
  });
  afterAll(() => t?.close());

  it('names the languages of a fresh database, the first one the system default (its id stays the default id)', async () => {
    const rows = (await languages(t)).map((r) => ({ ...r, id: hex(r.id) }));
    expect(rows).toHaveLength(3);
    expect(rows.find((r) => r.locale_code === 'de-DE')).toMatchObject({ id: EN_LANGUAGE, name: 'Deutsch' });
    expect(rows.find((r) => r.locale_code === 'fr-FR')).toMatchObject({ name: 'Français' });
    // A plain translated value is written in the system default language, now German.
    const res = await sync(t.app, { c: { entity: 'category', action: 'upsert', payload: [{ name: 'Hemden' }] } }).expect(200);
    expect(res.body.data.category_translation).toEqual([{ categoryId: res.body.data.category[0], languageId: EN_LANGUAGE }]);
  });
});

describe('an existing database', () => {
  let t: TestApp;
  /** Migrated up to (not including) the languages migration, and in use: a tax was written. */
  function inUse(url: string): Promise<void> {
    return migratedBefore(url, LANGUAGES_MIGRATION, async (knex) => {
      await knex('tax').insert({ id: '0189bf2a627a7296adbc83527ba9ac29', name: 'Standard', tax_rate: 19 });
    });
  }
  beforeAll(async () => {
    t = await startTestApp({}, { prepare: inUse });
  });
  afterAll(() => t?.close());

  it('is left with the languages it had', async () => {
    expect((await languages(t)).map((r) => r.locale_code)).toEqual(['en-GB']);
    const applied = await t.knex('knex_migrations').pluck('name');
    expect(applied).toContain(LANGUAGES_MIGRATION);
  });
});
