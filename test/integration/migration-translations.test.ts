import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { migratedBefore } from '../support/older-schema';
import { sync } from '../support/sync';
import { hexId } from '../fixtures/catalog';

/** The migration that moves translated fields: everything before it is the first wave's schema. */
const TRANSLATIONS_MIGRATION = '20261202000000_translations.js';

const ids = { tax: hexId(), category: hexId(), child: hexId(), product: hexId(), maker: hexId(), country: hexId(), group: hexId(), option: hexId() };
let t: TestApp;

/** A database on the first wave's schema, holding names and a description the way that schema stored them. */
function waveOneWithData(url: string): Promise<void> {
  return migratedBefore(url, TRANSLATIONS_MIGRATION, async (knex) => {
    await knex('tax').insert({ id: ids.tax, name: 'Standard', tax_rate: 19 });
    await knex('category').insert([{ id: ids.category, name: 'Clothing' }, { id: ids.child, parent_id: ids.category, name: 'Shirts' }]);
    await knex('product_manufacturer').insert({ id: ids.maker, name: 'ACME' });
    await knex('product').insert({
      id: ids.product, product_number: 'OLD-1', name: 'Old shirt', description: 'Stored before translations', stock: 1,
      price: JSON.stringify([{ currencyId: 'b7d2554b0ce847cd82f3ac9bd1c0dfca', gross: 1, net: 1, linked: true }]), tax_id: ids.tax, manufacturer_id: ids.maker,
    });
    await knex('country').insert({ id: ids.country, name: 'Germany', iso: 'DE' });
    await knex('property_group').insert({ id: ids.group, name: 'Colour' });
    await knex('property_group_option').insert({ id: ids.option, group_id: ids.group, name: 'red' });
  });
}

beforeAll(async () => {
  t = await startTestApp({}, { prepare: waveOneWithData });
});
afterAll(() => t.close());

describe('migrating a database of the first wave', () => {
  it('turns the names and descriptions already stored into default-language translations', async () => {
    expect(await t.knex('product_translation').where({ product_id: ids.product }).select('language_id', 'name', 'description')).toEqual([
      { language_id: '2fbb5fe2-e29a-4d70-aa58-54ce7ce3e20b', name: 'Old shirt', description: 'Stored before translations' },
    ]);
    for (const [table, id, name] of [
      ['category', ids.child, 'Shirts'],
      ['product_manufacturer', ids.maker, 'ACME'],
      ['country', ids.country, 'Germany'],
      ['property_group', ids.group, 'Colour'],
      ['property_group_option', ids.option, 'red'],
    ] as const) {
      expect(await t.knex(`${table}_translation`).where({ [`${table}_id`]: id }).pluck('name')).toEqual([name]);
    }
    const product = (await request(t.app).get(`/api/product/${ids.product}?associations=manufacturer`).expect(200)).body.data;
    expect(product).toMatchObject({ name: 'Old shirt', description: 'Stored before translations', translated: { name: 'Old shirt' }, manufacturer: { name: 'ACME' } });
  });

  it('keeps the old records writable, translatable and indexed', async () => {
    const de = hexId();
    await sync(t.app, { l: { entity: 'language', action: 'upsert', payload: [{ id: de, name: 'Deutsch', localeCode: 'de-DE' }] } }).expect(200);
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: ids.product, stock: 5, translations: { 'de-DE': { name: 'Altes Hemd' } } }] } }).expect(200);
    expect(res.body.data.product_translation).toEqual([{ productId: ids.product, languageId: de }]);
    expect((await request(t.app).get(`/api/product/${ids.product}`).set('sw-language-id', de).expect(200)).body.data).toMatchObject({ name: 'Altes Hemd', stock: 5 });
    expect((await request(t.app).get(`/api/product/${ids.product}`).expect(200)).body.data.name).toBe('Old shirt');
    const found = await request(t.app).post('/api/search/product').send({ term: 'hemd' }).expect(200);
    expect(found.body.data.map((r: { id: string }) => r.id)).toContain(ids.product);
  });
});
