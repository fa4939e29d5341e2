import { startTestApp, type TestApp } from '../support/app';
import { count, createTax, sync, storedRows } from '../support/sync';
import { hexId, price, product, products } from '../fixtures/catalog';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('upsert', () => {
  it('creates records and answers the contract response', async () => {
    const res = await sync(t.app, { 'write-tax': { entity: 'tax', action: 'upsert', payload: [{ name: 'tax-1', taxRate: 16 }] } }).expect(200);
    expect(res.body).toEqual({ extensions: [], data: { tax: [expect.stringMatching(/^[0-9a-f]{32}$/)] }, notFound: [], deleted: [] });
    const row = await t.knex('tax').where({ id: res.body.data.tax[0] }).first();
    expect(row).toMatchObject({ name: 'tax-1', tax_rate: 16, position: 0 });
    expect(row.created_at).toBeInstanceOf(Date);
    expect(row.updated_at).toBeNull();
  });

  it('merges: an existing record changes only the fields given', async () => {
    const taxId = await createTax(t.app);
    const p = product(taxId, 1, { description: 'keep me', ean: '4006381333931' });
    await sync(t.app, { c: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    await sync(t.app, { u: { entity: 'product', action: 'upsert', payload: [{ id: p.id, stock: 42 }] } }).expect(200);
    const row = await storedRows(t, 'product').where({ id: p.id as string }).first();
    expect(row).toMatchObject({ stock: 42, description: 'keep me', ean: '4006381333931', name: 'Product 1' });
    expect(row.updated_at).toBeInstanceOf(Date);
  });

  it('merges records that give different fields in one statement each without touching the rest', async () => {
    const taxId = await createTax(t.app);
    const [a, b] = products(taxId, 2, 100);
    await sync(t.app, { c: { entity: 'product', action: 'upsert', payload: [a, b] } }).expect(200);
    await sync(t.app, { u: { entity: 'product', action: 'upsert', payload: [{ id: a!.id, stock: 7 }, { id: b!.id, name: 'renamed', ean: null }] } }).expect(200);
    const rows = await storedRows(t, 'product').whereIn('id', [a!.id as string, b!.id as string]).orderBy('product_number');
    expect(rows.map((r) => [r.name, r.stock])).toEqual([['Product 100', 7], ['renamed', 1]]);
  });

  it('stores awkward text exactly: quotes, backslashes, braces, commas, "NULL", unicode, in fields and json', async () => {
    const names = ['say "hi"', 'back\\slash\\', '{a,b}', 'NULL', ' spaced ', 'ÄÖÜ ✓ 日本', "it's", '', 'a\tb'];
    const res = await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: names.map((name, i) => ({ name, taxRate: i })) } }).expect(200);
    const rows = await t.knex('tax').whereIn('id', res.body.data.tax).orderBy('tax_rate').pluck('name');
    expect(rows).toEqual(names);
    // The same through an update (the other statement).
    await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: res.body.data.tax.map((id: string, i: number) => ({ id, name: names[names.length - 1 - i] })) } }).expect(200);
    expect(await t.knex('tax').whereIn('id', res.body.data.tax).orderBy('tax_rate').pluck('name')).toEqual([...names].reverse());
    const taxId = res.body.data.tax[0];
    const p = product(taxId, 777, { price: [{ currencyId: 'b7d2554b0ce847cd82f3ac9bd1c0dfca', gross: 1, net: 1, linked: true }], description: 'x"y\\z' });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    const row = await storedRows(t, 'product').where({ id: p.id as string }).first();
    expect(row.description).toBe('x"y\\z');
    expect(row.price).toEqual(p.price);
  });

  it('applies definition defaults to new records', async () => {
    const res = await sync(t.app, { g: { entity: 'property_group', action: 'upsert', payload: [{ name: 'Colour' }] } }).expect(200);
    const row = await storedRows(t, 'property_group').where({ id: res.body.data.property_group[0] }).first();
    expect(row.display_type).toBe('text');
  });

  it('accepts dashed ids and answers 32 lowercase hex', async () => {
    const dashed = '0189BF2A-627A-7296-ADBC-83527BA9AC29';
    const res = await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [{ id: dashed, name: 'dashed', taxRate: 5 }] } }).expect(200);
    expect(res.body.data.tax).toEqual(['0189bf2a627a7296adbc83527ba9ac29']);
    const again = await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [{ id: '0189bf2a627a7296adbc83527ba9ac29', taxRate: 6 }] } }).expect(200);
    expect(again.body.data.tax).toEqual(['0189bf2a627a7296adbc83527ba9ac29']);
    expect(await t.knex('tax').where({ name: 'dashed' }).pluck('tax_rate')).toEqual([6]);
  });

  it('gives new records time-ordered ids (UUIDv7)', async () => {
    const res = await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [{ name: 'a', taxRate: 1 }, { name: 'b', taxRate: 2 }] } }).expect(200);
    for (const id of res.body.data.tax) expect(id[12]).toBe('7');
  });

  it('lets a record reference a record created earlier in the same request', async () => {
    const taxId = hexId();
    const res = await sync(t.app, [
      { key: 'p', entity: 'product', action: 'upsert', payload: [product(taxId, 200)] },
      { key: 't', entity: 'tax', action: 'upsert', payload: [{ id: taxId, name: 'later', taxRate: 7 }] },
    ]);
    // Operations run in request order: the product comes first, so its tax does not exist yet.
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'FK_NOT_FOUND', source: { pointer: '/p/0/taxId' } });

    const ok = await sync(t.app, [
      { key: 't', entity: 'tax', action: 'upsert', payload: [{ id: taxId, name: 'first', taxRate: 7 }] },
      { key: 'p', entity: 'product', action: 'upsert', payload: [product(taxId, 201)] },
    ]).expect(200);
    expect(Object.keys(ok.body.data)).toEqual(['product', 'product_translation', 'tax']);
  });

  it('lets a category name a parent created in the same payload', async () => {
    const parent = hexId();
    const child = hexId();
    await sync(t.app, { c: { entity: 'category', action: 'upsert', payload: [{ id: child, name: 'child', parentId: parent }, { id: parent, name: 'root' }] } }).expect(200);
    expect(await storedRows(t, 'category').where({ id: child }).pluck('parent_id')).toEqual([
      `${parent.slice(0, 8)}-${parent.slice(8, 12)}-${parent.slice(12, 16)}-${parent.slice(16, 20)}-${parent.slice(20)}`,
    ]);
  });

  it('writes mapping rows, ignores duplicates and lists them as key objects', async () => {
    const taxId = await createTax(t.app);
    const p = product(taxId, 300);
    const cat = hexId();
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] }, c: { entity: 'category', action: 'upsert', payload: [{ id: cat, name: 'c' }] } }).expect(200);
    const link = { productId: p.id, categoryId: cat };
    const res = await sync(t.app, { l: { entity: 'product_category', action: 'upsert', payload: [link, link] } }).expect(200);
    expect(res.body.data.product_category).toEqual([link]);
    await sync(t.app, { l: { entity: 'product_category', action: 'upsert', payload: [link] } }).expect(200);
    expect(await t.knex('product_category').where({ product_id: p.id as string }).count()).toEqual([{ count: 1 }]);
  });
});

describe('upsert validation', () => {
  it('refuses a new record without a required field, with a pointer, and writes nothing', async () => {
    const before = await count(t.knex, 'tax');
    const res = await sync(t.app, { 'write-tax': { entity: 'tax', action: 'upsert', payload: [{ name: 'ok', taxRate: 1 }, { name: 'no rate' }] } }).expect(400);
    expect(res.body.errors).toEqual([
      {
        status: '400',
        code: 'FIELD_REQUIRED',
        title: 'Required field missing',
        detail: 'taxRate is required to create a tax',
        source: { pointer: '/write-tax/1/taxRate' },
        meta: { operation: 'write-tax', entity: 'tax', index: 1 },
      },
    ]);
    expect(await count(t.knex, 'tax')).toBe(before);
  });

  it('one bad record among 500 good ones: nothing written, the bad one named', async () => {
    const taxId = await createTax(t.app);
    const payload = products(taxId, 501, 1000);
    payload[317]!.stock = 'lots';
    const before = await count(t.knex, 'product');
    const res = await sync(t.app, { import: { entity: 'product', action: 'upsert', payload } }).expect(400);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0]).toMatchObject({ code: 'VALUE_INVALID', source: { pointer: '/import/317/stock' }, meta: { index: 317 } });
    expect(await count(t.knex, 'product')).toBe(before);
  });

  it('a failing later operation rolls back the earlier ones', async () => {
    const before = await count(t.knex, 'tax');
    const res = await sync(t.app, {
      a: { entity: 'tax', action: 'upsert', payload: [{ name: 'written first', taxRate: 1 }] },
      b: { entity: 'product', action: 'upsert', payload: [{ productNumber: 'X', name: 'x', stock: 1, price: price(), taxId: hexId() }] },
    }).expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'FK_NOT_FOUND', source: { pointer: '/b/0/taxId' } });
    expect(await count(t.knex, 'tax')).toBe(before);
  });

  it('reports a unique value held by another record as UNIQUE_VIOLATION (409)', async () => {
    const taxId = await createTax(t.app);
    await sync(t.app, { a: { entity: 'product', action: 'upsert', payload: [product(taxId, 400)] } }).expect(200);
    const res = await sync(t.app, { b: { entity: 'product', action: 'upsert', payload: [product(taxId, 401), product(taxId, 400)] } }).expect(409);
    expect(res.body.errors[0]).toMatchObject({ code: 'UNIQUE_VIOLATION', source: { pointer: '/b/1/productNumber' } });
  });

  it('reports the same unique value twice in one request', async () => {
    const taxId = await createTax(t.app);
    const res = await sync(t.app, { b: { entity: 'product', action: 'upsert', payload: [product(taxId, 500), product(taxId, 500)] } }).expect(409);
    expect(res.body.errors[0]).toMatchObject({ code: 'UNIQUE_VIOLATION', source: { pointer: '/b/1/productNumber' } });
  });

  it('lists every error of the request, capped at 1,000', async () => {
    const payload = Array.from({ length: 1500 }, () => ({ name: 'x', taxRate: 'bad' }));
    const res = await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload } }).expect(400);
    expect(res.body.errors).toHaveLength(1000);
    expect(res.body.errors[999].source.pointer).toBe('/t/999/taxRate');
  });
});
