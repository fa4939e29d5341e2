import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { sync } from '../support/sync';
import { DE_LANGUAGE, price } from '../fixtures/catalog';

/**
 * Shopware's criteria beyond filters: aggregations (each type against answers computed by hand from the data
 * below), includes, post-filter, grouping.
 *
 *   product  number stock weight manufacturer categories   properties      name (en / de)
 *   P1       A-1     10    1.5    acme         shirts        red, small      Linen shirt / Leinenhemd
 *   P2       A-2      0    2.5    acme         trousers      red             Linen trousers / (none: falls back)
 *   P3       A-3     25    null   bolt         shirts        blue, small     Cotton shirt / Baumwollhemd
 *   P4       A-4      5    4      (none)       shirts        (none)          Wool shirt / Wollhemd
 */
let t: TestApp;
const id = (n: number) => `0189bf2a627a7296adbc83527ba9${String(n).padStart(4, '0')}`;
const TAX = id(1);
const ACME = id(11);
const BOLT = id(12);
const CLOTHING = id(21);
const SHIRTS = id(22);
const TROUSERS = id(23);
const COLOUR = id(31);
const SIZE = id(32);
const RED = id(41);
const BLUE = id(42);
const SMALL = id(43);
const [P1, P2, P3, P4] = [id(101), id(102), id(103), id(104)];
// German exists from the start, as on a fresh Shopware install.
const DE = DE_LANGUAGE;

beforeAll(async () => {
  t = await startTestApp();
  const res = await sync(t.app, {
    tax: { entity: 'tax', action: 'upsert', payload: [{ id: TAX, name: 'Standard', taxRate: 19 }] },
    m: { entity: 'product_manufacturer', action: 'upsert', payload: [{ id: ACME, name: 'Acme' }, { id: BOLT, name: 'Bolt' }] },
    c: {
      entity: 'category',
      action: 'upsert',
      payload: [
        { id: CLOTHING, name: 'Clothing' },
        { id: SHIRTS, name: 'Shirts', parentId: CLOTHING },
        { id: TROUSERS, name: 'Trousers', parentId: CLOTHING },
      ],
    },
    g: {
      entity: 'property_group',
      action: 'upsert',
      payload: [
        { id: COLOUR, name: 'Colour', options: [{ id: RED, name: 'red', position: 1 }, { id: BLUE, name: 'blue', position: 2 }] },
        { id: SIZE, name: 'Size', options: [{ id: SMALL, name: 'small', position: 1 }] },
      ],
    },
    p: {
      entity: 'product',
      action: 'upsert',
      payload: [
        { id: P1, productNumber: 'A-1', stock: 10, weight: 1.5, manufacturerId: ACME, categories: [{ id: SHIRTS }], properties: [{ id: RED }, { id: SMALL }],
          translations: [{ languageId: DE, name: 'Leinenhemd' }], name: 'Linen shirt' },
        { id: P2, productNumber: 'A-2', stock: 0, weight: 2.5, manufacturerId: ACME, categories: [{ id: TROUSERS }], properties: [{ id: RED }], name: 'Linen trousers' },
        { id: P3, productNumber: 'A-3', stock: 25, manufacturerId: BOLT, categories: [{ id: SHIRTS }], properties: [{ id: BLUE }, { id: SMALL }],
          translations: [{ languageId: DE, name: 'Baumwollhemd' }], name: 'Cotton shirt' },
        { id: P4, productNumber: 'A-4', stock: 5, weight: 4, categories: [{ id: SHIRTS }], translations: [{ languageId: DE, name: 'Wollhemd' }], name: 'Wool shirt' },
      ].map((p) => ({ ...p, taxId: TAX, price: price() })),
    },
  });
  if (res.status !== 200) throw new Error(JSON.stringify(res.body));
});
afterAll(() => t.close());

const search = (body: unknown, language?: string) => {
  const r = request(t.app).post('/api/search/product').set('content-type', 'application/json');
  return (language ? r.set('sw-language-id', language) : r).send(body as object);
};

async function aggregations(list: unknown[], extra: Record<string, unknown> = {}, language?: string): Promise<Record<string, unknown>> {
  const res = await search({ limit: 1, ...extra, aggregations: list }, language);
  expect(res.status).toBe(200);
  return res.body.aggregations;
}

describe('aggregations', () => {
  it('answers the metrics: min, max, avg, sum, count, stats', async () => {
    const a = await aggregations([
      { name: 'min-stock', type: 'min', field: 'stock' },
      { name: 'max-stock', type: 'max', field: 'stock' },
      { name: 'avg-stock', type: 'avg', field: 'stock' },
      { name: 'sum-stock', type: 'sum', field: 'stock' },
      { name: 'manufacturers', type: 'count', field: 'manufacturerId' },
      { name: 'weight', type: 'stats', field: 'weight' },
    ]);
    expect(a).toEqual({
      'min-stock': { min: 0 },
      'max-stock': { max: 25 },
      'avg-stock': { avg: 10 }, // (10 + 0 + 25 + 5) / 4
      'sum-stock': { sum: 40 },
      manufacturers: { count: 2 }, // distinct, NULL not counted
      weight: { min: 1.5, max: 4, avg: 8 / 3, sum: 8 }, // P3 has none
    });
  });

  it('aggregates only what "filter" matches', async () => {
    const a = await aggregations([{ name: 's', type: 'stats', field: 'stock' }], { filter: [{ type: 'range', field: 'stock', parameters: { gt: 0 } }] });
    expect(a).toEqual({ s: { min: 5, max: 25, avg: 40 / 3, sum: 40 } });
  });

  it('answers terms as buckets, by count then key, with a nested aggregation per bucket', async () => {
    const a = await aggregations([
      { name: 'makers', type: 'terms', field: 'manufacturerId', aggregation: { name: 'stock', type: 'sum', field: 'stock' } },
    ]);
    expect(a).toEqual({
      makers: {
        buckets: [
          { key: ACME, count: 2, stock: { sum: 10 } },
          { key: BOLT, count: 1, stock: { sum: 25 } },
          { key: null, count: 1, stock: { sum: 5 } },
        ],
      },
    });
  });

  it('terms through a many-to-many and over an id list, with limit and sort by key', async () => {
    const a = await aggregations([
      { name: 'options', type: 'terms', field: 'properties.id', sort: { field: 'properties.id', order: 'ASC' }, limit: 2 },
      { name: 'tree', type: 'terms', field: 'categoryTree' },
      { name: 'option-names', type: 'terms', field: 'properties.name', aggregation: { name: 'avg-stock', type: 'avg', field: 'stock' } },
    ]);
    expect(a.options).toEqual({ buckets: [{ key: RED, count: 2 }, { key: BLUE, count: 1 }] });
    expect(a.tree).toEqual({ buckets: [{ key: CLOTHING, count: 4 }, { key: SHIRTS, count: 3 }, { key: TROUSERS, count: 1 }] });
    // red: P1, P2 (avg 5); small: P1, P3 (avg 17.5); blue: P3 (25); no property: P4.
    expect(a['option-names']).toEqual({
      buckets: [
        { key: 'red', count: 2, 'avg-stock': { avg: 5 } },
        { key: 'small', count: 2, 'avg-stock': { avg: 17.5 } },
        { key: 'blue', count: 1, 'avg-stock': { avg: 25 } },
        { key: null, count: 1, 'avg-stock': { avg: 5 } },
      ],
    });
  });

  it('a metric beside a to-many join counts each record once', async () => {
    const a = await aggregations([
      { name: 'by-option', type: 'terms', field: 'properties.id', sort: { field: '_count', order: 'DESC' }, limit: 1, aggregation: { name: 's', type: 'stats', field: 'stock' } },
    ]);
    // red and small both hold 2 records; the tie is broken by key: red (…0041) before small (…0043).
    expect(a).toEqual({ 'by-option': { buckets: [{ key: RED, count: 2, s: { min: 0, max: 10, avg: 5, sum: 10 } }] } });
  });

  it('filter narrows its nested aggregation, which answers under its own name', async () => {
    const a = await aggregations([
      { name: 'in-stock', type: 'filter', filter: [{ type: 'range', field: 'stock', parameters: { gt: 0 } }], aggregation: { name: 'in-stock-count', type: 'count', field: 'id' } },
    ]);
    expect(a).toEqual({ 'in-stock-count': { count: 3 } });
  });

  it('a term (the search vector, kept in a table of its own) narrows the search and a filter aggregation', async () => {
    const a = await aggregations(
      [
        { name: 'shirts', type: 'filter', filter: [{ type: 'term', value: 'shirt' }], aggregation: { name: 'shirt-stock', type: 'sum', field: 'stock' } },
        { name: 'all-stock', type: 'sum', field: 'stock' },
      ],
      { filter: [{ type: 'term', value: 'linen' }] },
    );
    // linen: P1 (10) and P2 (0); of those, shirts: P1.
    expect(a).toEqual({ 'shirt-stock': { sum: 10 }, 'all-stock': { sum: 10 } });
  });

  it('histogram buckets date-times by interval (keys in UTC, Shopware\'s "Y-m-d H:i:s")', async () => {
    const rows = await t.knex('product').select('created_at');
    const days = new Map<string, number>();
    for (const r of rows) {
      const key = (r.created_at as Date).toISOString().slice(0, 10) + ' 00:00:00';
      days.set(key, (days.get(key) ?? 0) + 1);
    }
    const a = await aggregations([{ name: 'created', type: 'histogram', field: 'createdAt', interval: 'day' }]);
    expect(a).toEqual({ created: { buckets: [...days].sort().map(([key, count]) => ({ key, count })) } });
  });

  it('entity answers the records a foreign key names, with includes applied', async () => {
    const a = await aggregations([{ name: 'makers', type: 'entity', field: 'manufacturerId', definition: 'product_manufacturer' }], {
      includes: { product_manufacturer: ['id', 'name'] },
    });
    expect(a).toEqual({ makers: { entities: [{ id: ACME, name: 'Acme' }, { id: BOLT, name: 'Bolt' }] } });
  });

  it('aggregates and sorts translated fields in the request language, falling back to the default one', async () => {
    const a = await aggregations([{ name: 'names', type: 'terms', field: 'name', sort: { field: 'name', order: 'ASC' } }], {}, DE);
    expect((a.names as { buckets: { key: string }[] }).buckets.map((b) => b.key)).toEqual(['Baumwollhemd', 'Leinenhemd', 'Linen trousers', 'Wollhemd']);
    const res = await search({ sort: [{ field: 'name', order: 'DESC' }], includes: { product: ['name'] } }, DE);
    expect(res.body.data).toEqual([{ name: 'Wollhemd' }, { name: 'Linen trousers' }, { name: 'Leinenhemd' }, { name: 'Baumwollhemd' }]);
  });

  it('refuses unknown types and fields with pointers, all at once', async () => {
    const res = await search({
      aggregations: [
        { name: 'a', type: 'median', field: 'stock' },
        { name: 'b', type: 'avg', field: 'colour' },
        { name: 'c', type: 'avg', field: 'name' },
        { name: 'd', type: 'terms', field: 'stock', aggregation: { name: 'e', type: 'sum' } },
        { name: 'f', type: 'entity', field: 'manufacturerId', definition: 'tax' },
        { name: 'a', type: 'count', field: 'id' },
        { type: 'count', field: 'id' },
        { name: 'g', type: 'histogram', field: 'createdAt', interval: 'fortnight' },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { code: string; source: { pointer: string } }) => [e.code, e.source.pointer])).toEqual([
      ['CRITERIA_INVALID', '/aggregations/0/type'],
      ['CRITERIA_INVALID', '/aggregations/1/field'],
      ['CRITERIA_INVALID', '/aggregations/2/field'],
      ['CRITERIA_INVALID', '/aggregations/3/aggregation/field'],
      ['CRITERIA_INVALID', '/aggregations/4/definition'],
      ['CRITERIA_INVALID', '/aggregations/5/name'],
      ['CRITERIA_INVALID', '/aggregations/6/name'],
      ['CRITERIA_INVALID', '/aggregations/7/interval'],
    ]);
  });
});

describe('includes, post-filter, grouping', () => {
  it('includes trims every record of an entity to the keys named, nested ones too; fields stays as the list form', async () => {
    const res = await search({
      filter: [{ type: 'equals', field: 'productNumber', value: 'A-1' }],
      associations: ['manufacturer', 'tax'],
      includes: { product: ['productNumber', 'manufacturer', 'translated'], product_manufacturer: ['name'] },
    });
    expect(res.body.data).toEqual([{ productNumber: 'A-1', translated: { name: 'Linen shirt', description: null }, manufacturer: { name: 'Acme' } }]);
    const bad = await search({ includes: { product: ['colour'], nothing: ['x'] } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { source: { pointer: string } }) => e.source.pointer)).toEqual(['/includes/product/0', '/includes/nothing']);
  });

  it('post-filter narrows the list and its total, not the facets', async () => {
    const res = await search({
      filter: [{ type: 'equals', field: 'categoryTree', value: SHIRTS }],
      'post-filter': [{ type: 'equals', field: 'manufacturerId', value: ACME }],
      aggregations: [{ name: 'makers', type: 'terms', field: 'manufacturerId' }],
      includes: { product: ['productNumber'] },
      'total-count-mode': 'exact',
    });
    expect(res.body.data).toEqual([{ productNumber: 'A-1' }]);
    expect(res.body.total).toBe(1);
    // The facet still offers every manufacturer of the category: a shopper can switch.
    expect(res.body.aggregations).toEqual({ makers: { buckets: [{ key: ACME, count: 1 }, { key: BOLT, count: 1 }, { key: null, count: 1 }] } });
  });

  it('grouping answers one record per value, the first in the sort order, and counts groups', async () => {
    const res = await search({
      grouping: ['manufacturerId'],
      sort: [{ field: 'stock', order: 'DESC' }],
      includes: { product: ['productNumber'] },
      'total-count-mode': 'exact',
      limit: 2,
    });
    // acme: P1 (10) before P2 (0); bolt: P3; none: P4. By stock: P3 25, P1 10, P4 5.
    expect(res.body.data).toEqual([{ productNumber: 'A-3' }, { productNumber: 'A-1' }]);
    expect(res.body.total).toBe(3);
    const rest = await search({ grouping: ['manufacturerId'], sort: [{ field: 'stock', order: 'DESC' }], includes: { product: ['productNumber'] }, limit: 2, after: res.body.next });
    expect(rest.body.data).toEqual([{ productNumber: 'A-4' }]);
    const bad = await search({ grouping: ['price', 'nothing'] });
    expect(bad.body.errors.map((e: { source: { pointer: string } }) => e.source.pointer)).toEqual(['/grouping/0', '/grouping/1']);
  });
});

describe('term search totals', () => {
  it('counts the matches with the page, also past the last page and for no match', async () => {
    const first = await search({ term: 'linen', limit: 1, 'total-count-mode': 'exact', includes: { product: ['productNumber'] } });
    expect(first.body).toMatchObject({ data: [{ productNumber: expect.any(String) }], total: 2 });
    const past = await search({ term: 'linen', limit: 1, page: 5, 'total-count-mode': 'exact' });
    expect(past.body).toEqual({ data: [], total: 2 });
    expect((await search({ term: 'velvet', 'total-count-mode': 'exact' })).body).toEqual({ data: [], total: 0 });
  });
});

describe('HTTP caching', () => {
  const get = (path: string, headers: Record<string, string> = {}) => request(t.app).get(path).set(headers);

  it('GET of a record answers a strong ETag and 304 to a matching If-None-Match; a changed translation changes it (in every language: the version of the record moved on)', async () => {
    const first = await get(`/api/product/${P1}`, { 'sw-language-id': DE });
    expect(first.status).toBe(200);
    expect(first.headers.etag).toMatch(/^"[A-Za-z0-9_-]{32}"$/);
    expect(first.headers['cache-control']).toBe('private, no-cache');
    expect(first.headers.vary).toMatch(/Authorization, sw-language-id/);
    const again = await get(`/api/product/${P1}`, { 'sw-language-id': DE, 'if-none-match': first.headers.etag! });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    // Another language answers other bytes: another validator.
    const english = await get(`/api/product/${P1}`);
    expect(english.headers.etag).not.toBe(first.headers.etag);

    const res = await sync(t.app, { p: { entity: 'product_translation', action: 'upsert', payload: [{ productId: P1, languageId: DE, name: 'Leinenhemd blau' }] } });
    expect(res.status).toBe(200);
    const changed = await get(`/api/product/${P1}`, { 'sw-language-id': DE, 'if-none-match': first.headers.etag! });
    expect(changed.status).toBe(200);
    expect(changed.body.data.name).toBe('Leinenhemd blau');
    expect(changed.headers.etag).not.toBe(first.headers.etag);
    // The record's _version covers every language: the English answer shows a new version (and so a new
    // validator) though its name stayed the same.
    const englishAgain = await get(`/api/product/${P1}`, { 'if-none-match': english.headers.etag! });
    expect(englishAgain.status).toBe(200);
    expect(englishAgain.body.data.name).toBe(english.body.data.name);
    expect(englishAgain.body.data._version).not.toBe(english.body.data._version);
    expect((await get(`/api/product/${P1}`, { 'if-none-match': englishAgain.headers.etag! })).status).toBe(304);
  });

  it('search answers private, no-cache with an ETag over the result; the GET form revalidates', async () => {
    const body = { filter: [{ type: 'range', field: 'stock', parameters: { gte: 5 } }], sort: [{ field: 'stock', order: 'DESC' }], includes: { product: ['productNumber'] } };
    const post = await search(body);
    expect(post.headers['cache-control']).toBe('private, no-cache');
    expect(post.headers.etag).toMatch(/^"[A-Za-z0-9_-]{32}"$/);
    const path = `/api/search/product?filter=${encodeURIComponent(JSON.stringify(body.filter))}&sort=-stock&includes=${encodeURIComponent(JSON.stringify(body.includes))}`;
    const viaGet = await get(path);
    expect(viaGet.status).toBe(200);
    expect(viaGet.body).toEqual(post.body);
    expect(viaGet.body.data).toEqual([{ productNumber: 'A-3' }, { productNumber: 'A-1' }, { productNumber: 'A-4' }]);
    expect(viaGet.headers.etag).toBe(post.headers.etag);
    expect((await get(path, { 'if-none-match': viaGet.headers.etag! })).status).toBe(304);
    // A POST is answered in full whatever If-None-Match says.
    expect((await search(body).set('if-none-match', post.headers.etag!)).status).toBe(200);
    const bad = await get('/api/search/product?filter=[{"type"&limit=9999');
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { source: { pointer: string } }) => e.source.pointer)).toEqual(['/filter']);
  });
});

describe('OpenAPI', () => {
  it('describes aggregations, includes, post-filter, grouping, the GET form and the validators', async () => {
    const doc = (await request(t.app).get('/api/_info/openapi.json')).body;
    const criteria = doc.paths['/api/search/product'].post.requestBody.content['application/json'].schema.properties;
    expect(Object.keys(criteria)).toEqual(expect.arrayContaining(['aggregations', 'includes', 'post-filter', 'grouping', 'fields', 'total-count-mode']));
    expect(doc.components.schemas.Aggregation.properties.type.enum).toEqual(['terms', 'min', 'max', 'avg', 'sum', 'count', 'stats', 'histogram', 'filter', 'entity']);
    const get = doc.paths['/api/search/product'].get;
    expect(get.parameters.map((p: { name?: string }) => p.name)).toEqual(expect.arrayContaining(['filter', 'aggregations', 'sort', 'If-None-Match']));
    expect(get.responses['304']).toBeDefined();
    expect(Object.keys(doc.paths['/api/product/{id}'].get.responses['200'].headers)).toEqual(expect.arrayContaining(['ETag', 'Cache-Control']));
  });
});
