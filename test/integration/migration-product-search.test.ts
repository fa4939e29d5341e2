import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { migratedBefore } from '../support/older-schema';
import { sync } from '../support/sync';
import { hexId } from '../fixtures/catalog';
import { toDbId } from '../../src/definitions/ids';

/** The migration that moves product.search_keywords into product_search: everything before it is the older schema. */
const PRODUCT_SEARCH_MIGRATION = '20261207130000_product_search.js';

const ids = { tax: hexId(), indexed: hexId(), unindexed: hexId() };
let t: TestApp;

/** A database on the schema before product_search: one product indexed (vector and empty tree), one never indexed. */
function olderWithData(url: string): Promise<void> {
  return migratedBefore(url, PRODUCT_SEARCH_MIGRATION, async (knex) => {
    await knex('tax').insert({ id: ids.tax, name: 'Standard', tax_rate: 19 });
    const price = JSON.stringify([{ currencyId: 'b7d2554b0ce847cd82f3ac9bd1c0dfca', gross: 1, net: 1, linked: true }]);
    await knex('product').insert([
      { id: ids.indexed, product_number: 'OLD-1', stock: 1, price, tax_id: ids.tax, category_tree: [], search_keywords: knex.raw(`to_tsvector('simple', 'old linen shirt')`) },
      { id: ids.unindexed, product_number: 'OLD-2', stock: 1, price, tax_id: ids.tax },
    ]);
  });
}

beforeAll(async () => {
  t = await startTestApp({}, { prepare: olderWithData });
});
afterAll(() => t.close());

describe('migrating a database whose search vectors are product columns', () => {
  it('moves each stored vector into product_search and drops the column', async () => {
    const rows = await t.knex('product_search').select('product_id', t.knex.raw('search_keywords::text AS kw'));
    expect(rows).toEqual([{ product_id: toDbId(ids.indexed), kw: "'linen':2 'old':1 'shirt':3" }]);
    const columns = await t.knex('information_schema.columns').where({ table_name: 'product' }).pluck('column_name');
    expect(columns).not.toContain('search_keywords');
  });

  it('finds the migrated product by term, and turns an empty category tree into null', async () => {
    const found = await request(t.app).post('/api/search/product').send({ term: 'linen' }).expect(200);
    expect(found.body.data.map((p: { id: string }) => p.id)).toEqual([ids.indexed]);
    expect(found.body.data[0].categoryTree).toBeNull();
  });

  it('indexes the product that was never indexed once it is written', async () => {
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: ids.unindexed, name: 'Cotton trousers' }] } }).expect(200);
    const found = await request(t.app).post('/api/search/product').send({ term: 'cotton' }).expect(200);
    expect(found.body.data.map((p: { id: string }) => p.id)).toEqual([ids.unindexed]);
  });
});
