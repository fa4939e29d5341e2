import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { sync } from '../support/sync';
import { hexId, price } from '../fixtures/catalog';

const EN = '2fbb5fe2e29a4d70aa5854ce7ce3e20b';
let t: TestApp;
let DE: string;
beforeAll(async () => {
  t = await startTestApp();
  DE = hexId();
  await sync(t.app, { l: { entity: 'language', action: 'upsert', payload: [{ id: DE, name: 'Deutsch', localeCode: 'de-DE' }] } }).expect(200);
});
afterAll(() => t.close());

describe('writing translations', () => {
  it('writes plain values in the default language and translations keyed by locale code and id', async () => {
    const id = hexId();
    const res = await sync(t.app, {
      c: { entity: 'category', action: 'upsert', payload: [{ id, name: 'Shirts', translations: { 'de-DE': { name: 'Hemden' } } }] },
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({
      category: [id],
      category_translation: expect.arrayContaining([
        { categoryId: id, languageId: EN },
        { categoryId: id, languageId: DE },
      ]),
    });
    const rows = await t.knex('category_translation').where({ category_id: id }).orderBy('name');
    expect(rows.map((r) => r.name)).toEqual(['Hemden', 'Shirts']);
  });
});

describe('reading translations', () => {
  it('answers the request language with fallback, translated, and associations=translations', async () => {
    const id = hexId();
    await sync(t.app, { c: { entity: 'product_manufacturer', action: 'upsert', payload: [{ id, name: 'Maker', description: 'Makes things', translations: { 'de-DE': { name: 'Hersteller' } } }] } }).expect(200);
    const en = await request(t.app).get(`/api/product_manufacturer/${id}`).expect(200);
    expect(en.body.data).toMatchObject({ name: 'Maker', description: 'Makes things', translated: { name: 'Maker', description: 'Makes things' } });
    const de = await request(t.app).get(`/api/product_manufacturer/${id}?associations=translations`).set('sw-language-id', DE).expect(200);
    expect(de.body.data).toMatchObject({ name: 'Hersteller', description: 'Makes things', translated: { name: 'Hersteller', description: 'Makes things' } });
    expect(de.body.data.translations).toHaveLength(2);
    const bad = await request(t.app).get(`/api/product_manufacturer/${id}`).set('sw-language-id', hexId());
    expect(bad.status).toBe(412);
    expect(bad.body.errors[0].code).toBe('LANGUAGE_NOT_FOUND');
    const found = await request(t.app).post('/api/search/product_manufacturer').set('sw-language-id', DE)
      .send({ filter: [{ type: 'equals', field: 'name', value: 'Hersteller' }] }).expect(200);
    expect(found.body.data.map((r: { id: string }) => r.id)).toEqual([id]);
  });
});
