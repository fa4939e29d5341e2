import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { sync } from '../support/sync';
import { DE_LANGUAGE, EN_LANGUAGE as EN, EUR, hexId, price } from '../fixtures/catalog';

let t: TestApp;
let DE: string;
let FR: string;
beforeAll(async () => {
  t = await startTestApp();
  // Deutsch comes with a fresh database, as in a fresh Shopware install.
  DE = DE_LANGUAGE;
  FR = hexId();
  await sync(t.app, { l: { entity: 'language', action: 'upsert', payload: [{ id: FR, name: 'Français', localeCode: 'fr-FR' }] } }).expect(200);
});
afterAll(() => t.close());

const HEX = /^[0-9a-f]{32}$/;
const get = (path: string, language?: string) => {
  const r = request(t.app).get(path);
  return language ? r.set('sw-language-id', language) : r;
};

describe("Shopware's seed example", () => {
  it('answers data with category, category_translation, country, country_translation and tax, shaped as Shopware answers', async () => {
    // The request of Shopware's documentation, exactly.
    const res = await sync(t.app, {
      'write-tax': { entity: 'tax', action: 'upsert', payload: [{ name: 'tax-1', taxRate: 16 }, { name: 'tax-2', taxRate: 15 }] },
      'write-category': { entity: 'category', action: 'upsert', payload: [{ name: 'category-1' }, { name: 'category-2' }] },
      'write-country': { entity: 'country', action: 'upsert', payload: [{ name: 'country-1' }, { name: 'country-2' }] },
    });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['extensions', 'data', 'notFound', 'deleted']);
    expect(res.body).toMatchObject({ extensions: [], notFound: [], deleted: [] });
    const { data } = res.body;
    expect(Object.keys(data)).toEqual(['category', 'category_translation', 'country', 'country_translation', 'tax']);
    for (const name of ['category', 'country', 'tax']) {
      expect(data[name]).toHaveLength(2);
      for (const id of data[name]) expect(id).toMatch(HEX);
    }
    expect(data.category_translation).toEqual(data.category.map((categoryId: string) => ({ categoryId, languageId: EN })));
    expect(data.country_translation).toEqual(data.country.map((countryId: string) => ({ countryId, languageId: EN })));
    const category = await get(`/api/category/${data.category[0]}`).expect(200);
    expect(category.body.data).toMatchObject({ name: 'category-1', translated: { name: 'category-1' } });
  });

  it('writes a product with translations in two languages (one by locale code), customFields, two visibilities, a currency by ISO code and a tax by rate, and reads it back in both', async () => {
    const [tax, channelA, channelB] = [hexId(), hexId(), hexId()];
    await sync(t.app, {
      t: { entity: 'tax', action: 'upsert', payload: [{ id: tax, name: 'Reduced', taxRate: 7.5 }] },
      s: { entity: 'sales_channel', action: 'upsert', payload: [{ id: channelA, name: 'Storefront' }, { id: channelB, name: 'Headless', translations: { 'de-DE': { name: 'Kopflos' } } }] },
    }).expect(200);
    const id = hexId();
    const res = await sync(t.app, {
      'write-product': {
        entity: 'product',
        action: 'upsert',
        payload: [
          {
            id,
            productNumber: 'SEED-2',
            stock: 10,
            taxId: { resolver: 'tax.tax_rate', value: 7.5 },
            price: [{ currencyId: { resolver: 'currency.iso_code', value: 'eur' }, gross: 10.75, net: 10, linked: true }],
            translations: {
              [EN]: { name: 'Linen shirt', description: 'Made of linen' },
              'de-DE': { name: 'Leinenhemd' },
            },
            customFields: { fabric: 'linen', washable: true },
            visibilities: [
              { salesChannelId: channelA, visibility: 30 },
              { salesChannelId: channelB, visibility: 10 },
            ],
          },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.data.product).toEqual([id]);
    expect(res.body.data.product_translation).toEqual(expect.arrayContaining([{ productId: id, languageId: EN }, { productId: id, languageId: DE }]));
    expect(res.body.data.product_visibility).toHaveLength(2);

    const en = (await get(`/api/product/${id}?associations=visibilities,tax`).expect(200)).body.data;
    expect(en).toMatchObject({
      name: 'Linen shirt',
      description: 'Made of linen',
      translated: { name: 'Linen shirt', description: 'Made of linen' },
      customFields: { fabric: 'linen', washable: true },
      taxId: tax,
      price: [{ currencyId: EUR, gross: 10.75, net: 10, linked: true }],
    });
    expect(en.visibilities.map((v: { salesChannelId: string; visibility: number }) => [v.salesChannelId, v.visibility]).sort()).toEqual(
      [[channelA, 30], [channelB, 10]].sort(),
    );
    const de = (await get(`/api/product/${id}?associations=translations`, DE).expect(200)).body.data;
    // German name, description falling back to the default language field by field.
    expect(de).toMatchObject({ name: 'Leinenhemd', description: 'Made of linen', translated: { name: 'Leinenhemd', description: 'Made of linen' } });
    expect(de.translations).toHaveLength(2);

    // Sending a visibility pair again without id updates that row (its unique key is its match key).
    await sync(t.app, { v: { entity: 'product', action: 'upsert', payload: [{ id, visibilities: [{ salesChannelId: channelA, visibility: 20 }] }] } }).expect(200);
    expect(await t.knex('product_visibility').where({ product_id: id }).orderBy('visibility').pluck('visibility')).toEqual([10, 20]);
  });
});

describe('writing translations', () => {
  it('writes plain values for the request language; a translations entry wins over a plain value', async () => {
    const id = hexId();
    await sync(t.app, { c: { entity: 'category', action: 'upsert', payload: [{ id, name: 'Shirts' }] } }).expect(200);
    const res = await sync(
      t.app,
      { c: { entity: 'category', action: 'upsert', payload: [{ id, name: 'Hemden', translations: [{ languageId: 'fr-FR', name: 'Chemises' }] }] } },
      { 'sw-language-id': DE },
    ).expect(200);
    expect(res.body.data.category_translation).toEqual(expect.arrayContaining([{ categoryId: id, languageId: DE }, { categoryId: id, languageId: FR }]));
    const both = await sync(
      t.app,
      { c: { entity: 'category', action: 'upsert', payload: [{ id, name: 'plain', translations: { [DE]: { name: 'Hemden!' } } }] } },
      { 'sw-language-id': DE },
    ).expect(200);
    expect(both.body.data.category_translation).toEqual([{ categoryId: id, languageId: DE }]);
    expect((await get(`/api/category/${id}`).expect(200)).body.data.name).toBe('Shirts');
    expect((await get(`/api/category/${id}`, DE).expect(200)).body.data.name).toBe('Hemden!');
    expect((await get(`/api/category/${id}`, FR).expect(200)).body.data.name).toBe('Chemises');
  });

  it('needs required translated fields in the default language to create a record', async () => {
    const res = await sync(t.app, { c: { entity: 'category', action: 'upsert', payload: [{ id: hexId(), name: 'Nur deutsch' }] } }, { 'sw-language-id': DE });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ code: 'FIELD_REQUIRED', source: { pointer: '/c/0/name' } })]);
    const withDefault = await sync(
      t.app,
      { c: { entity: 'category', action: 'upsert', payload: [{ name: 'Nur deutsch', translations: { 'en-GB': { name: 'German only' } } }] } },
      { 'sw-language-id': DE },
    );
    expect(withDefault.status).toBe(200);
  });

  it('refuses an unknown language or field inside translations, and an unknown sw-language-id, writing nothing', async () => {
    const before = await t.knex('category_translation').count({ n: '*' });
    const res = await sync(t.app, {
      c: { entity: 'category', action: 'upsert', payload: [{ name: 'x', translations: { 'xx-XX': { name: 'y' }, 'de-DE': { colour: 'red' } } }] },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ code: 'LANGUAGE_NOT_FOUND', status: '400', source: { pointer: '/c/0/translations/xx-XX' } }),
      expect.objectContaining({ code: 'FIELD_UNKNOWN', source: { pointer: '/c/0/translations/de-DE/colour' } }),
    ]);
    const header = await sync(t.app, { c: { entity: 'category', action: 'upsert', payload: [{ name: 'x' }] } }, { 'sw-language-id': hexId() });
    expect(header.status).toBe(412);
    expect(header.body.errors[0]).toMatchObject({ code: 'LANGUAGE_NOT_FOUND', status: '412' });
    expect(await t.knex('category_translation').count({ n: '*' })).toEqual(before);
  });

  it('merge mode updates only the languages and fields given; replace resets the languages given', async () => {
    const id = hexId();
    await sync(t.app, {
      m: { entity: 'product_manufacturer', action: 'upsert', payload: [{ id, name: 'Maker', description: 'Old', translations: { 'de-DE': { name: 'Hersteller', description: 'Alt' } } }] },
    }).expect(200);
    await sync(t.app, { m: { entity: 'product_manufacturer', action: 'upsert', payload: [{ id, description: 'New' }] } }).expect(200);
    expect((await get(`/api/product_manufacturer/${id}`).expect(200)).body.data).toMatchObject({ name: 'Maker', description: 'New' });
    expect((await get(`/api/product_manufacturer/${id}`, DE).expect(200)).body.data).toMatchObject({ name: 'Hersteller', description: 'Alt' });
    await sync(t.app, {
      m: { entity: 'product_manufacturer', action: 'upsert', mode: 'replace', payload: [{ id, name: 'Maker', description: 'New', translations: { 'de-DE': { name: 'Neu' } } }] },
    }).expect(200);
    // German description reset to null: it now falls back to the default language's.
    expect((await get(`/api/product_manufacturer/${id}`, DE).expect(200)).body.data).toMatchObject({ name: 'Neu', description: 'New' });
    expect(await t.knex('product_manufacturer_translation').where({ product_manufacturer_id: id, language_id: DE }).pluck('description')).toEqual([null]);
  });

  it('writes translation rows set-wise: more languages add rows, not statements', async () => {
    const taxId = hexId();
    await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [{ id: taxId, name: 'T', taxRate: 19 }] } }).expect(200);
    const payload = (tag: string, languages: boolean) =>
      Array.from({ length: 300 }, (_, i) => ({
        productNumber: `${tag}-${i}`,
        stock: 1,
        price: price(),
        taxId,
        name: `Product ${i}`,
        ...(languages ? { translations: { 'de-DE': { name: `Produkt ${i}` }, 'fr-FR': { name: `Produit ${i}` } } } : {}),
      }));
    // The rate-limit store prunes expired counters every so many requests: that statement is not the sync's.
    const statements = () => t.counter.statements.filter((s) => !s.startsWith('DELETE FROM bulksync_rate_limit')).length;
    t.counter.recording = true;
    t.counter.reset();
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: payload('ONE', false) } }).expect(200);
    const oneLanguage = statements();
    t.counter.reset();
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: payload('THREE', true) } }).expect(200);
    t.counter.recording = false;
    expect(res.body.data.product_translation).toHaveLength(900);
    expect(statements()).toBe(oneLanguage);
  });
});

describe('the translation entity', () => {
  it('is searched, and deleted by key object, like any entity with a composite key', async () => {
    const id = hexId();
    await sync(t.app, { c: { entity: 'category', action: 'upsert', payload: [{ id, name: 'Socks', translations: { 'de-DE': { name: 'Socken' } } }] } }).expect(200);
    const found = await request(t.app)
      .post('/api/search/category_translation')
      .send({ filter: [{ type: 'equals', field: 'categoryId', value: id }], sort: [{ field: 'name', order: 'ASC' }] })
      .expect(200);
    expect(found.body.data.map((r: { languageId: string; name: string }) => [r.languageId, r.name])).toEqual([[DE, 'Socken'], [EN, 'Socks']]);
    const res = await sync(t.app, { d: { entity: 'category_translation', action: 'delete', payload: [{ categoryId: id, languageId: DE }] } }).expect(200);
    expect(res.body.deleted).toEqual({ category_translation: [{ categoryId: id, languageId: DE }] });
    // Without its German row the category answers in the default language.
    expect((await get(`/api/category/${id}`, DE).expect(200)).body.data.name).toBe('Socks');
  });
});

describe('criteria on translated fields in writes', () => {
  it('deletes by criteria on a translated field (default language), with its translations', async () => {
    const [a, b] = [hexId(), hexId()];
    await sync(t.app, { c: { entity: 'category', action: 'upsert', payload: [{ id: a, name: 'Obsolete one' }, { id: b, name: 'Kept' }] } }).expect(200);
    const res = await sync(t.app, { d: { entity: 'category', action: 'delete', criteria: [{ type: 'prefix', field: 'name', value: 'Obsolete' }] } });
    expect(res.status).toBe(200);
    expect(res.body.deleted).toEqual({ category: [a], category_translation: [{ categoryId: a, languageId: EN }] });
    expect(await t.knex('category').whereIn('id', [a, b]).pluck('id')).toHaveLength(1);
  });
});

describe('reading translations', () => {
  it('searches and sorts translated fields in the request language with the fallback', async () => {
    const [a, b] = [hexId(), hexId()];
    await sync(t.app, {
      m: {
        entity: 'product_manufacturer',
        action: 'upsert',
        payload: [
          { id: a, name: 'Zeta works', translations: { 'de-DE': { name: 'Alpha Werke' } } },
          { id: b, name: 'Beta works' },
        ],
      },
    }).expect(200);
    const body = { filter: [{ type: 'equalsAny', field: 'id', value: [a, b] }], sort: [{ field: 'name', order: 'ASC' }] };
    const en = await request(t.app).post('/api/search/product_manufacturer').send(body).expect(200);
    expect(en.body.data.map((r: { id: string }) => r.id)).toEqual([b, a]);
    const de = await request(t.app).post('/api/search/product_manufacturer').set('sw-language-id', DE).send(body).expect(200);
    expect(de.body.data.map((r: { name: string }) => r.name)).toEqual(['Alpha Werke', 'Beta works']);
    const filtered = await request(t.app)
      .post('/api/search/product_manufacturer')
      .set('sw-language-id', DE)
      .send({ filter: [{ type: 'prefix', field: 'name', value: 'Beta' }, { type: 'equalsAny', field: 'id', value: [a, b] }] })
      .expect(200);
    expect(filtered.body.data.map((r: { id: string }) => r.id)).toEqual([b]);
    expect((await get(`/api/product_manufacturer/${a}`, hexId())).status).toBe(412);
    // Loaded associations are translated the same way.
    const taxId = hexId();
    const product = hexId();
    await sync(t.app, {
      t: { entity: 'tax', action: 'upsert', payload: [{ id: taxId, name: 'T', taxRate: 19 }] },
      p: { entity: 'product', action: 'upsert', payload: [{ id: product, productNumber: 'ASSOC-1', stock: 1, price: price(), taxId, name: 'Chair', manufacturerId: a }] },
    }).expect(200);
    const withMaker = (await get(`/api/product/${product}?associations=manufacturer`, DE).expect(200)).body.data;
    expect(withMaker).toMatchObject({ name: 'Chair', manufacturer: { name: 'Alpha Werke', translated: { name: 'Alpha Werke' } } });
  });

  it('finds products by their words in any language (the search keywords cover every translation)', async () => {
    const taxId = hexId();
    const id = hexId();
    await sync(t.app, {
      t: { entity: 'tax', action: 'upsert', payload: [{ id: taxId, name: 'T', taxRate: 19 }] },
      p: { entity: 'product', action: 'upsert', payload: [{ id, productNumber: 'KW-1', stock: 1, price: price(), taxId, name: 'Garden chair', translations: { 'de-DE': { name: 'Gartenstuhl' } } }] },
    }).expect(200);
    const search = (term: string) =>
      request(t.app).post('/api/search/product').send({ filter: [{ type: 'equals', field: 'productNumber', value: 'KW-1' }], term }).expect(200);
    expect((await search('gartenstuhl')).body.data.map((r: { id: string }) => r.id)).toEqual([id]);
    expect((await search('garden')).body.data.map((r: { id: string }) => r.id)).toEqual([id]);
    // A translation written through its own entity re-indexes the product it belongs to.
    await sync(t.app, { tr: { entity: 'product_translation', action: 'upsert', payload: [{ productId: id, languageId: FR, name: 'Chaise de jardin' }] } }).expect(200);
    expect((await search('chaise')).body.data.map((r: { id: string }) => r.id)).toEqual([id]);
  });
});

describe('mode replace with the name given only under translations', () => {
  const replace = (payload: unknown[]) => sync(t.app, { p: { entity: 'category', action: 'upsert', mode: 'replace', payload } });

  it.each([
    ['keyed by locale code', (en: string, de: string) => ({ 'en-GB': { name: en }, 'de-DE': { name: de } })],
    ['keyed by language id', (en: string, de: string) => ({ [EN]: { name: en }, [DE]: { name: de } })],
    ['as a list', (en: string, de: string) => [{ languageId: EN, name: en }, { languageId: 'de-DE', name: de }]],
  ])('counts the default language translation as given (%s), on create and on replace', async (_form, translations) => {
    const id = hexId();
    await replace([{ id, translations: translations('Shoes', 'Schuhe') }]).expect(200);
    await replace([{ id, translations: translations('Boots', 'Stiefel') }]).expect(200);
    expect(await t.knex('category_translation').where({ category_id: id }).orderBy('name').pluck('name')).toEqual(['Boots', 'Stiefel']);
  });

  it('still refuses a replace whose default language has no name', async () => {
    const res = await replace([{ id: hexId(), translations: { 'de-DE': { name: 'Schuhe' } } }]);
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ code: 'FIELD_REQUIRED', source: { pointer: '/p/0/name' } })]);
  });
});
