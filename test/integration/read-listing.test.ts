import path from 'node:path';
import request from 'supertest';
import { loadRegistry } from '../../src/definitions/registry';
import { parseSearchRequest } from '../../src/read/search-request';
import { pageSql } from '../../src/read/sql/search';
import { DE_LANGUAGE, price } from '../fixtures/catalog';
import { ROOT, startTestApp, type TestApp } from '../support/app';
import { sync } from '../support/sync';

/**
 * The product listing table (a category's products in name order with what its facets read) is kept by the
 * database on every write: after each kind of write through the sync endpoint it holds exactly the rows computed
 * from the product tables, and a category listing read through it answers what the same search answers from the
 * product table (forced there by a filter the listing does not hold).
 *
 *   categories: ROOT > { SHIRTS, TROUSERS }, SALE (separate root)
 */
let t: TestApp;
const id = (n: number) => `0189bf2a627a7296adbc83527bb0${String(n).padStart(4, '0')}`;
const TAX = id(1);
const [ACME, BOLT] = [id(11), id(12)];
const [ROOT_CAT, SHIRTS, TROUSERS, SALE] = [id(21), id(22), id(23), id(24)];
const GROUP = id(31);
const [RED, BLUE, SMALL] = [id(41), id(42), id(43)];
const [P1, P2, P3, P4, P5] = [id(101), id(102), id(103), id(104), id(105)];
const CATEGORIES = [ROOT_CAT, SHIRTS, TROUSERS, SALE];

beforeAll(async () => {
  t = await startTestApp();
  await ok({
    tax: { entity: 'tax', action: 'upsert', payload: [{ id: TAX, name: 'Standard', taxRate: 19 }] },
    m: { entity: 'product_manufacturer', action: 'upsert', payload: [{ id: ACME, name: 'Acme' }, { id: BOLT, name: 'Bolt' }] },
    c: {
      entity: 'category',
      action: 'upsert',
      payload: [
        { id: ROOT_CAT, name: 'Clothing' },
        { id: SHIRTS, name: 'Shirts', parentId: ROOT_CAT },
        { id: TROUSERS, name: 'Trousers', parentId: ROOT_CAT },
        { id: SALE, name: 'Sale' },
      ],
    },
    g: { entity: 'property_group', action: 'upsert', payload: [{ id: GROUP, name: 'Look', options: [{ id: RED, name: 'red' }, { id: BLUE, name: 'blue' }, { id: SMALL, name: 'small' }] }] },
    p: {
      entity: 'product',
      action: 'upsert',
      payload: [
        { id: P1, productNumber: 'L-1', name: 'Linen shirt', stock: 10, manufacturerId: ACME, categories: [{ id: SHIRTS }], properties: [{ id: RED }, { id: SMALL }] },
        { id: P2, productNumber: 'L-2', name: 'Cotton shirt', stock: 3, manufacturerId: BOLT, categories: [{ id: SHIRTS }, { id: SALE }], properties: [{ id: BLUE }] },
        { id: P3, productNumber: 'L-3', name: 'Wool trousers', stock: 0, categories: [{ id: TROUSERS }] },
        { id: P4, productNumber: 'L-4', name: 'Cotton shirt', stock: 7, manufacturerId: ACME, categories: [{ id: SHIRTS }], properties: [{ id: RED }] },
        { id: P5, productNumber: 'L-5', name: 'Denim trousers', stock: 2, manufacturerId: BOLT, categories: [{ id: TROUSERS }, { id: SALE }],
          translations: [{ languageId: DE_LANGUAGE, name: 'Jeanshose' }] },
      ].map((p) => ({ ...p, taxId: TAX, price: price() })),
    },
  });
});
afterAll(() => t.close());

async function ok(body: unknown, headers: Record<string, string> = {}): Promise<void> {
  const res = await sync(t.app, body, headers);
  if (res.status !== 200) throw new Error(JSON.stringify(res.body));
}

/** Rows of product_listing that differ from the rows computed from the product tables (both ways). */
async function listingDifferences(): Promise<unknown[]> {
  const expected = `SELECT c.id AS category_id, p.id AS product_id, tr.name, p.manufacturer_id, p.stock, p.active,
      COALESCE((SELECT array_agg(pp.option_id ORDER BY pp.option_id) FROM product_property pp WHERE pp.product_id = p.id), '{}') AS property_ids
    FROM product p CROSS JOIN LATERAL (SELECT DISTINCT x FROM unnest(p.category_tree) x) c(id)
    LEFT JOIN product_translation tr ON tr.product_id = p.id AND tr.language_id = '${DE_LANGUAGE_DEFAULT}'`;
  const listed = 'SELECT category_id, product_id, name, manufacturer_id, stock, active, property_ids FROM product_listing';
  const { rows } = await t.knex.raw(`(${expected} EXCEPT ${listed}) UNION ALL (${listed} EXCEPT ${expected})`);
  return rows;
}
const DE_LANGUAGE_DEFAULT = '2fbb5fe2-e29a-4d70-aa58-54ce7ce3e20b';

const search = (body: Record<string, unknown>) => request(t.app).post('/api/search/product').set('content-type', 'application/json').send(body);

/** A category page as a storefront asks for it: sorted by name, exact total, three facets. */
const listing = (category: string, extra: Record<string, unknown> = {}) => ({
  filter: [{ type: 'equals', field: 'categoryTree', value: category }],
  sort: [{ field: 'name', order: 'ASC' }],
  limit: 2,
  'total-count-mode': 'exact',
  includes: { product: ['id', 'name', 'stock'] },
  aggregations: [
    { name: 'manufacturer', type: 'terms', field: 'manufacturerId' },
    { name: 'properties', type: 'terms', field: 'properties.id' },
    { name: 'stock', type: 'stats', field: 'stock' },
  ],
  ...extra,
});

/** The same search, kept off the listing table by a filter on a field it does not hold (true for every product). */
const offListing = (body: Record<string, unknown>) => ({
  ...body,
  filter: [...(body.filter as unknown[]), { type: 'not', operator: 'and', queries: [{ type: 'equals', field: 'productNumber', value: '-' }] }],
});

/** Every category's listing (both sort directions, a second page by cursor) answers as the product table does. */
async function expectListingsAsTable(): Promise<void> {
  expect(await listingDifferences()).toEqual([]);
  for (const category of CATEGORIES) {
    for (const order of ['ASC', 'DESC']) {
      const body = listing(category, { sort: [{ field: 'name', order }] });
      const [fast, slow] = await Promise.all([search(body), search(offListing(body))]);
      expect(fast.status).toBe(200);
      expect(fast.body).toEqual(slow.body);
      if (fast.body.next) {
        const [fast2, slow2] = await Promise.all([search({ ...body, after: fast.body.next }), search(offListing({ ...body, after: fast.body.next }))]);
        expect(fast2.body).toEqual(slow2.body);
      }
    }
  }
}

test('a category listing of the default language reads the listing table; another language, a filter it does not hold, the product table', () => {
  const registry = loadRegistry([path.join(ROOT, 'schemas')]);
  const product = registry.get('product');
  const sqlOf = (body: Record<string, unknown>) => {
    const parsed = parseSearchRequest(registry, product, body);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    return pageSql(parsed.query, []);
  };
  expect(sqlOf(listing(SHIRTS))).toContain('product_listing');
  expect(sqlOf(listing(SHIRTS, { filter: [{ type: 'equals', field: 'categoryTree', value: SHIRTS }, { type: 'range', field: 'stock', parameters: { gte: 1 } }] }))).toContain('product_listing');
  expect(sqlOf(offListing(listing(SHIRTS)))).not.toContain('product_listing');
  expect(sqlOf(listing(SHIRTS, { sort: [{ field: 'productNumber', order: 'ASC' }] }))).not.toContain('product_listing');
});

test('after the initial import, listings answer as the product table, facets included', async () => {
  await expectListingsAsTable();
  const res = await search(listing(SHIRTS, { limit: 10 }));
  expect(res.body.total).toBe(3);
  expect(res.body.data.map((p: { id: string }) => p.id)).toEqual([P2, P4, P1]); // Cotton (P2 < P4 by id), Linen
  expect(res.body.aggregations.properties.buckets).toEqual([
    { key: RED, count: 2 },
    { key: BLUE, count: 1 },
    { key: SMALL, count: 1 },
  ]);
  expect(res.body.aggregations.stock).toEqual({ min: 3, max: 10, avg: 20 / 3, sum: 20 });
});

test('renames (product, default translation, another language), stock, manufacturer and active changes', async () => {
  await ok({ p: { entity: 'product', action: 'upsert', payload: [{ id: P1, name: 'Alpaca shirt', stock: 1, manufacturerId: BOLT }] } });
  await expectListingsAsTable();
  await ok({ tr: { entity: 'product_translation', action: 'upsert', payload: [{ productId: P4, languageId: DE_LANGUAGE_DEFAULT.replace(/-/g, ''), name: 'Zebra shirt' }] } });
  await ok({ tr: { entity: 'product_translation', action: 'upsert', payload: [{ productId: P2, languageId: DE_LANGUAGE, name: 'Aaa Baumwollhemd' }] } });
  await ok({ p: { entity: 'product', action: 'upsert', payload: [{ id: P3, active: false, manufacturerId: null }] } });
  await expectListingsAsTable();
  const res = await search(listing(SHIRTS, { limit: 10 }));
  expect(res.body.data.map((p: { name: string }) => p.name)).toEqual(['Alpaca shirt', 'Cotton shirt', 'Zebra shirt']);
});

test('properties added and removed, a product moved between categories, a category re-parented and deleted, a product deleted', async () => {
  await ok({ p: { entity: 'product', action: 'upsert', payload: [{ id: P3, properties: [{ id: BLUE }, { id: SMALL }] }] } });
  await ok({ d: { entity: 'product_property', action: 'delete', payload: [{ productId: P1, optionId: RED }] } });
  await expectListingsAsTable();
  await ok({ d: { entity: 'product_category', action: 'delete', payload: [{ productId: P2, categoryId: SALE }] } });
  await ok({ p: { entity: 'product', action: 'upsert', payload: [{ id: P4, categories: [{ id: TROUSERS }] }] } });
  await expectListingsAsTable();
  // TROUSERS moves under SALE: its products leave ROOT's listing and join SALE's.
  await ok({ c: { entity: 'category', action: 'upsert', payload: [{ id: TROUSERS, parentId: SALE }] } });
  await expectListingsAsTable();
  expect((await search(listing(SALE, { limit: 10 }))).body.total).toBe(3);
  await ok({ d: { entity: 'product', action: 'delete', payload: [{ id: P5 }] } });
  await ok({ d: { entity: 'category', action: 'delete', payload: [{ id: SHIRTS }] } });
  await expectListingsAsTable();
  expect((await search(listing(SHIRTS))).body.total).toBe(0);
});

test('with indexing disabled, the listing still follows the product rows (names and stock at once, categories once indexed)', async () => {
  const off = { 'indexing-behavior': 'disable-indexing' };
  await ok({ p: { entity: 'product', action: 'upsert', payload: [{ id: P3, name: 'Aardvark trousers', stock: 40 }] } }, off);
  await expectListingsAsTable();
  expect((await search(listing(SALE, { limit: 10 }))).body.data[0].name).toBe('Aardvark trousers');
});
