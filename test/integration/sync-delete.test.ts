import request from 'supertest';
import { MAX_FILTER_DEPTH, MAX_FILTERS } from '../../src/criteria/parse';
import { startTestApp, type TestApp } from '../support/app';
import { count, createTax, sync, storedRows } from '../support/sync';
import { hexId, product, EN_LANGUAGE } from '../fixtures/catalog';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('delete', () => {
  it('deletes by id and reports missing ids under notFound', async () => {
    const taxId = await createTax(t.app, 'to delete');
    const missing = hexId();
    const res = await sync(t.app, { d: { entity: 'tax', action: 'delete', payload: [{ id: taxId }, { id: missing }] } }).expect(200);
    expect(res.body).toEqual({ extensions: [], data: [], notFound: { tax: [missing] }, deleted: { tax: [taxId] } });
    expect(await t.knex('tax').where({ id: taxId })).toHaveLength(0);
  });

  it('cascades a category delete to its subtree and mapping rows, and reports them', async () => {
    const taxId = await createTax(t.app);
    const [root, child, grandchild] = [hexId(), hexId(), hexId()];
    const p = product(taxId, 1);
    await sync(t.app, {
      c: { entity: 'category', action: 'upsert', payload: [{ id: root, name: 'root' }, { id: child, name: 'child', parentId: root }, { id: grandchild, name: 'gc', parentId: child }] },
      p: { entity: 'product', action: 'upsert', payload: [p] },
      l: { entity: 'product_category', action: 'upsert', payload: [{ productId: p.id, categoryId: grandchild }] },
    }).expect(200);
    const res = await sync(t.app, { d: { entity: 'category', action: 'delete', payload: [{ id: root }] } }).expect(200);
    expect(res.body.deleted).toEqual({
      category: [root, child, grandchild],
      // Translations go with their records (listed as key objects, as Shopware does).
      category_translation: expect.arrayContaining([root, child, grandchild].map((categoryId) => ({ categoryId, languageId: EN_LANGUAGE }))),
      product_category: [{ productId: p.id, categoryId: grandchild }],
    });
    expect(await storedRows(t, 'category').whereIn('id', [root, child, grandchild])).toHaveLength(0);
    expect(await storedRows(t, 'product').where({ id: p.id as string })).toHaveLength(1);
  });

  it('refuses to delete a tax that products use: FK_RESTRICT, 409, nothing deleted', async () => {
    const used = await createTax(t.app, 'used');
    const unused = await createTax(t.app, 'unused');
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [product(used, 10)] } }).expect(200);
    const res = await sync(t.app, { 'drop-tax': { entity: 'tax', action: 'delete', payload: [{ id: unused }, { id: used }] } }).expect(409);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0]).toMatchObject({ code: 'FK_RESTRICT', source: { pointer: '/drop-tax/1' }, meta: { operation: 'drop-tax', index: 1 } });
    expect(res.body.errors[0].detail).toContain('product.taxId');
    expect(await t.knex('tax').whereIn('id', [used, unused])).toHaveLength(2);
  });

  it('reports one FK_RESTRICT per blocked record, however many records hold the reference', async () => {
    const used = await createTax(t.app, 'used by five');
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [1, 2, 3, 4, 5].map((n) => product(used, 500 + n)) } }).expect(200);
    const res = await sync(t.app, { d: { entity: 'tax', action: 'delete', payload: [{ id: used }] } }).expect(409);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0].detail).toContain('5 product records');
  });

  it('sets references to null where the rule says so', async () => {
    const taxId = await createTax(t.app);
    const m = hexId();
    const p = product(taxId, 20, { manufacturerId: m });
    await sync(t.app, { m: { entity: 'product_manufacturer', action: 'upsert', payload: [{ id: m, name: 'ACME' }] }, p: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    const res = await sync(t.app, { d: { entity: 'product_manufacturer', action: 'delete', payload: [{ id: m }] } }).expect(200);
    expect(res.body.deleted).toEqual({ product_manufacturer: [m], product_manufacturer_translation: [{ productManufacturerId: m, languageId: EN_LANGUAGE }] });
    expect(await storedRows(t, 'product').where({ id: p.id as string }).pluck('manufacturer_id')).toEqual([null]);
  });

  it('deletes mapping rows by their full key and by criteria', async () => {
    const taxId = await createTax(t.app);
    const p = product(taxId, 30);
    const q = product(taxId, 31);
    const cats = [hexId(), hexId(), hexId()];
    await sync(t.app, {
      c: { entity: 'category', action: 'upsert', payload: cats.map((id, i) => ({ id, name: `c${i}` })) },
      p: { entity: 'product', action: 'upsert', payload: [p, q] },
      l: {
        entity: 'product_category',
        action: 'upsert',
        payload: [...cats.map((categoryId) => ({ productId: p.id, categoryId })), { productId: q.id, categoryId: cats[0] }],
      },
    }).expect(200);
    const byKey = await sync(t.app, { d: { entity: 'product_category', action: 'delete', payload: [{ productId: p.id, categoryId: cats[0] }] } }).expect(200);
    expect(byKey.body.deleted).toEqual({ product_category: [{ productId: p.id, categoryId: cats[0] }] });

    const byCriteria = await sync(t.app, {
      'drop-links': { entity: 'product_category', action: 'delete', criteria: [{ type: 'equals', field: 'productId', value: p.id }] },
    }).expect(200);
    expect(byCriteria.body.deleted.product_category).toHaveLength(2);
    expect(await t.knex('product_category').where({ product_id: q.id as string })).toHaveLength(1);
  });

  it('deletes by criteria with nested filters', async () => {
    const taxId = await createTax(t.app);
    const payload = [product(taxId, 40, { stock: 0 }), product(taxId, 41, { stock: 5, ean: 'x' }), product(taxId, 42, { stock: 0, active: false })];
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload } }).expect(200);
    const res = await sync(t.app, {
      d: {
        entity: 'product',
        action: 'delete',
        criteria: [
          { type: 'prefix', field: 'productNumber', value: 'SW-4' },
          { type: 'multi', operator: 'or', queries: [{ type: 'range', field: 'stock', parameters: { lte: 0 } }, { type: 'equals', field: 'ean', value: 'x' }] },
          { type: 'not', queries: [{ type: 'equals', field: 'active', value: false }] },
        ],
      },
    }).expect(200);
    expect(res.body.deleted.product.sort()).toEqual([payload[0]!.id, payload[1]!.id].sort());
  });

  it('refuses an invalid criteria list before touching anything', async () => {
    const before = await count(t.knex, 'tax');
    const res = await sync(t.app, { d: { entity: 'tax', action: 'delete', criteria: [{ type: 'equals', field: 'tax_rate', value: 1 }] } }).expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'CRITERIA_INVALID', source: { pointer: '/d/criteria/0/field' } });
    expect(await count(t.knex, 'tax')).toBe(before);
  });

  it('refuses criteria nested 10,000 levels deep with 400 and a pointer, not a stack overflow', async () => {
    const taxId = await createTax(t.app, 'deep criteria');
    const before = await count(t.knex, 'tax');
    // Built as text: JSON.stringify (and supertest) would overflow the stack on such a value themselves.
    const send = (criteria: string) =>
      request(t.app)
        .post('/api/_action/sync')
        .set('content-type', 'application/json')
        .send(`{"d":{"entity":"tax","action":"delete","criteria":${criteria}}}`);
    const leaf = `{"type":"equals","field":"id","value":"${taxId}"}`;
    // An operator that is a list nested 10,000 deep (String() of it used to overflow the stack: 500).
    const operator = await send(`[{"type":"multi","operator":${'['.repeat(10_000)}"or"${']'.repeat(10_000)},"queries":[${leaf}]}]`).expect(400);
    expect(operator.body.errors[0]).toMatchObject({ code: 'CRITERIA_INVALID', source: { pointer: '/d/criteria/0/operator' } });
    // multi inside multi 10,000 deep: refused at the first level past the limit.
    const multi = await send(`[${'{"type":"multi","queries":['.repeat(10_000)}${leaf}${']}'.repeat(10_000)}]`).expect(400);
    expect(multi.body.errors).toHaveLength(1);
    expect(multi.body.errors[0]).toMatchObject({ code: 'CRITERIA_INVALID', source: { pointer: '/d/criteria/0' + '/queries/0'.repeat(MAX_FILTER_DEPTH + 1) } });
    expect(multi.body.errors[0].detail).toContain(`at most ${MAX_FILTER_DEPTH} levels`);
    // Exactly at the limit it is accepted, and deletes.
    const atLimit = await send(`[${'{"type":"multi","queries":['.repeat(MAX_FILTER_DEPTH)}${leaf}${']}'.repeat(MAX_FILTER_DEPTH)}]`).expect(200);
    expect(atLimit.body.deleted).toEqual({ tax: [taxId] });
    expect(await count(t.knex, 'tax')).toBe(before - 1);
  });

  it('refuses more filters than PostgreSQL could take as parameters, with one error', async () => {
    const filters = Array.from({ length: 70_000 }, (_, i) => ({ type: 'equals', field: 'name', value: `n${i}` }));
    const res = await sync(t.app, { d: { entity: 'tax', action: 'delete', criteria: filters } }).expect(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ code: 'CRITERIA_INVALID', source: { pointer: `/d/criteria/${MAX_FILTERS}` } })]);
    const nested = await sync(t.app, { d: { entity: 'tax', action: 'delete', criteria: [{ type: 'not', queries: filters.slice(0, MAX_FILTERS) }] } }).expect(400);
    expect(nested.body.errors[0].source.pointer).toBe(`/d/criteria/0/queries/${MAX_FILTERS - 1}`);
    await sync(t.app, { d: { entity: 'tax', action: 'delete', criteria: filters.slice(0, MAX_FILTERS) } }).expect(200);
  });

  it('refuses a filter key the filter type does not take', async () => {
    const res = await sync(t.app, { d: { entity: 'tax', action: 'delete', criteria: [{ type: 'equals', field: 'name', vaule: 'x' }] } }).expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'CRITERIA_INVALID', source: { pointer: '/d/criteria/0/vaule' } });
  });

  it('refuses criteria together with a payload', async () => {
    const res = await sync(t.app, { d: { entity: 'tax', action: 'delete', payload: [], criteria: [{ type: 'equals', field: 'name', value: 'x' }] } }).expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'PAYLOAD_AND_CRITERIA', source: { pointer: '/d/criteria' } });
  });

  it('reports bad ids in a delete payload', async () => {
    const res = await sync(t.app, { d: { entity: 'tax', action: 'delete', payload: [{ id: 'abc' }] } }).expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'ID_INVALID', source: { pointer: '/d/0/id' } });
  });
});
