import request from 'supertest';
import { until } from '../support/poll';
import { startTestApp, type TestApp } from '../support/app';
import { createTax, sync } from '../support/sync';
import { DE_LANGUAGE, EN_LANGUAGE, EUR, hexId, price, product } from '../fixtures/catalog';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const keywords = async (id: string) => ((await t.knex('product_search').where({ product_id: id }).first())?.search_keywords ?? null) as string | null;

describe('customFields', () => {
  it('merges keys in merge mode (null removes one), replaces in replace mode, and refuses what is not an object', async () => {
    const taxId = await createTax(t.app);
    const p = product(taxId, 1, { customFields: { a: 1, keep: 'x' } });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: p.id, customFields: { b: 2, keep: null } }] } }).expect(200);
    const read = async () => (await request(t.app).get(`/api/product/${p.id}`).expect(200)).body.data.customFields;
    expect(await read()).toEqual({ a: 1, b: 2 });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', mode: 'replace', payload: [{ ...p, customFields: { c: 3 } }] } }).expect(200);
    expect(await read()).toEqual({ c: 3 });
    const bad = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: p.id, customFields: ['not', 'an', 'object'] }] } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]).toMatchObject({ code: 'VALUE_INVALID', source: { pointer: '/p/0/customFields' } });
  });
});

describe('defaults, currencies and resolvers', () => {
  it('refuses to delete the default language and the default currency', async () => {
    const lang = await sync(t.app, { d: { entity: 'language', action: 'delete', payload: [{ id: EN_LANGUAGE }] } });
    expect(lang.status).toBe(409);
    expect(lang.body.errors[0]).toMatchObject({ code: 'FK_RESTRICT' });
    const cur = await sync(t.app, { d: { entity: 'currency', action: 'delete', payload: [{ id: EUR }] } });
    expect(cur.status).toBe(409);
    expect(cur.body.errors[0]).toMatchObject({ code: 'FK_RESTRICT' });
    // en-GB and de-DE, a fresh install's languages.
    expect(await t.knex('language').count({ n: '*' })).toEqual([{ n: 2 }]);
  });

  it('checks price[].currencyId against currency, and resolves currency.isoCode in any case', async () => {
    const taxId = await createTax(t.app);
    const unknown = hexId();
    const bad = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [product(taxId, 2, { price: [{ currencyId: unknown, gross: 1, net: 1, linked: true }] })] } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ code: 'FK_NOT_FOUND', source: { pointer: '/p/0/price/0/currencyId' } })]);
    const usd = hexId();
    await sync(t.app, { c: { entity: 'currency', action: 'upsert', payload: [{ id: usd, isoCode: 'usd', symbol: '$', factor: 1.08, name: 'US dollar' }] } }).expect(200);
    const p = product(taxId, 3, { price: [...price(), { currencyId: { resolver: 'currency.isoCode', value: 'Usd' }, gross: 2, net: 1.5, linked: false }] });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    const read = (await request(t.app).get(`/api/product/${p.id}`).expect(200)).body.data;
    expect(read.price[1].currencyId).toBe(usd);
    const missing = await sync(t.app, {
      p: { entity: 'product', action: 'upsert', payload: [product(taxId, 4, { price: [{ currencyId: { resolver: 'currency.iso_code', value: 'CHF' }, gross: 1, net: 1 }] })] },
    });
    expect(missing.body.errors[0]).toMatchObject({ code: 'REFERENCE_UNRESOLVED', source: { pointer: '/p/0/price/0/currencyId' } });
    // Any spelling of an id: dashed or upper-case finds the currency; an unknown one is named as the API spells ids.
    const dashed = (id: string) => `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`;
    const spelled = product(taxId, 105, { price: [{ currencyId: dashed(usd).toUpperCase(), gross: 1, net: 1, linked: true }] });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [spelled] } }).expect(200);
    const other = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [product(taxId, 106, { price: [{ currencyId: dashed(unknown), gross: 1, net: 1, linked: true }] })] } });
    expect(other.body.errors).toEqual([expect.objectContaining({ code: 'FK_NOT_FOUND', detail: `price.0.currencyId: no currency with id ${unknown}` })]);
  });

  it('resolves tax.tax_rate when exactly one tax has the rate, and says how many matched otherwise', async () => {
    await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [{ name: 'one', taxRate: 2.5 }, { name: 'twin a', taxRate: 3.5 }, { name: 'twin b', taxRate: 3.5 }] } }).expect(200);
    const ok = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [product('', 5, { taxId: { resolver: 'tax.tax_rate', value: 2.5 } })] } });
    expect(ok.status).toBe(200);
    const two = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [product('', 6, { taxId: { resolver: 'tax.taxRate', value: 3.5 } })] } });
    expect(two.status).toBe(400);
    expect(two.body.errors[0]).toMatchObject({ code: 'REFERENCE_UNRESOLVED', source: { pointer: '/p/0/taxId' } });
    expect(two.body.errors[0].detail).toContain('2 tax records');
  });

  it('resolves language.localeCode (and language.locale_code), and product.number keeps working', async () => {
    const de = DE_LANGUAGE;
    const taxId = await createTax(t.app);
    const p = product(taxId, 7);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    const res = await sync(t.app, {
      tr: {
        entity: 'product_translation',
        action: 'upsert',
        payload: [
          { productId: { resolver: 'product.number', value: 'SW-7' }, languageId: { resolver: 'language.locale_code', value: 'de-DE' }, name: 'Produkt 7' },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.data.product_translation).toEqual([{ productId: p.id, languageId: de }]);
    const viaLocale = await sync(t.app, {
      tr: { entity: 'product_translation', action: 'upsert', payload: [{ productId: p.id, languageId: { resolver: 'language.localeCode', value: 'de-DE' }, description: 'Text' }] },
    });
    expect(viaLocale.status).toBe(200);
    expect((await request(t.app).get(`/api/product/${p.id}`).set('sw-language-id', de).expect(200)).body.data).toMatchObject({ name: 'Produkt 7', description: 'Text' });
  });
});

describe('visibilities', () => {
  it('takes 10, 20 or 30 only, pointing at the nested value', async () => {
    const taxId = await createTax(t.app);
    const channel = hexId();
    await sync(t.app, { s: { entity: 'sales_channel', action: 'upsert', payload: [{ id: channel, name: 'Shop' }] } }).expect(200);
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [product(taxId, 40, { visibilities: [{ salesChannelId: channel, visibility: 15 }] })] } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ code: 'VALUE_INVALID', detail: 'visibility: expected one of 10, 20, 30, got 15', source: { pointer: '/p/0/visibilities/0/visibility' } }),
    ]);
  });
});

describe('small fidelity points', () => {
  it('names an operation by its explicit key in the object form too', async () => {
    const res = await sync(t.app, { first: { key: 'named', entity: 'tax', action: 'upsert', payload: [{ name: 'x', taxRate: 'bad' }] } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toMatchObject({ source: { pointer: '/named/0/taxRate' }, meta: { operation: 'named' } });
  });

  it("accepts Shopware's indexer names in indexing-skip: mapped, ignored and listed, or HEADER_INVALID", async () => {
    const taxId = await createTax(t.app);
    const skipped = product(taxId, 20, { name: 'Skipped keywords' });
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [skipped] } }, { 'indexing-skip': 'product.search-keyword, product.stock, product.inheritance' });
    expect(res.status).toBe(200);
    expect(res.headers['x-indexing-skip-ignored']).toBe('product.stock, product.inheritance');
    expect(await keywords(skipped.id as string)).toBeNull();
    const indexed = product(taxId, 21, { name: 'Indexed keywords' });
    const mapped = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [indexed] } }, { 'indexing-skip': 'category.child-count,product.category-denormalizer' });
    expect(mapped.status).toBe(200);
    expect(mapped.headers['x-indexing-skip-ignored']).toBeUndefined();
    expect(await keywords(indexed.id as string)).toContain('indexed');
    const unknown = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [product(taxId, 22)] } }, { 'indexing-skip': 'product.nonsense' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0]).toMatchObject({ code: 'HEADER_INVALID' });
  });

  it('counts lengths in characters (code points): 255 emoji fit a 255-character name, 256 do not', async () => {
    const fits = '😀'.repeat(255);
    const res = await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [{ name: fits, taxRate: 1 }] } });
    expect(res.status).toBe(200);
    expect(await t.knex('tax').where({ id: res.body.data.tax[0] }).pluck('name')).toEqual([fits]);
    const category = await sync(t.app, { c: { entity: 'category', action: 'upsert', payload: [{ name: fits }] } });
    expect(category.status).toBe(200);
    const long = await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [{ name: fits + '😀', taxRate: 1 }] } });
    expect(long.status).toBe(400);
    expect(long.body.errors[0]).toMatchObject({ code: 'VALUE_INVALID', source: { pointer: '/t/0/name' } });
    expect(long.body.errors[0].detail).toContain('at most 255 characters');
    // The zod fallback (a field with a format: link, at most 2048) counts the same way: 2,020 characters fit, in
    // 4,020 UTF-16 units.
    const url = `https://example.com/${'😀'.repeat(2000)}`;
    const m = await sync(t.app, { m: { entity: 'product_manufacturer', action: 'upsert', payload: [{ name: 'M', link: url }] } });
    expect(m.status).toBe(200);
    const tooLong = await sync(t.app, { m: { entity: 'product_manufacturer', action: 'upsert', payload: [{ name: 'M', link: url + '😀'.repeat(29) }] } });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.errors[0]).toMatchObject({ code: 'VALUE_INVALID', source: { pointer: '/m/0/link' } });
  });

  it('writes and indexes a 1 MiB description of distinct words, inline and queued', async () => {
    const taxId = await createTax(t.app);
    let text = '';
    for (let i = 0; text.length < 1024 * 1024 - 16; i++) text += `w${i.toString(36)} `;
    const inline = product(taxId, 30, { name: 'Huge inline', description: text.trimEnd() });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [inline] } }).expect(200);
    expect(await keywords(inline.id as string)).toContain('huge');
    const queued = product(taxId, 31, { name: 'Huge queued', description: text.trimEnd() });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [queued] } }, { 'indexing-behavior': 'use-queue-indexing' }).expect(200);
    await t.startWorker();
    expect(await until(() => keywords(queued.id as string), (k) => k !== null)).toContain('queued');
  });
});
