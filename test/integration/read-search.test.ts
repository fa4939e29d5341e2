import request from 'supertest';
import { MAX_FILTER_DEPTH } from '../../src/criteria/parse';
import { startTestApp, type TestApp } from '../support/app';
import { createTax, sync } from '../support/sync';
import { hexId, price } from '../fixtures/catalog';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

function search(entity: string, body: unknown) {
  return request(t.app).post(`/api/search/${entity}`).set('content-type', 'application/json').send(body as object);
}

interface Row {
  id: string;
  productNumber: string;
  name: string;
  stock: number;
  ean: string | null;
  weight: number | null;
  [k: string]: unknown;
}

const N = 2500;
let taxId: string;
let otherTaxId: string;
const products: Row[] = [];

beforeAll(async () => {
  taxId = await createTax(t.app, 'Standard', 19);
  otherTaxId = await createTax(t.app, 'Reduced', 7);
  for (let i = 0; i < N; i++) {
    products.push({
      id: hexId(),
      productNumber: `SW-${String(i).padStart(5, '0')}`,
      // Few distinct names and stocks: most positions are decided by the tiebreaker.
      name: `Shirt ${i % 7}`,
      stock: i % 10,
      // Every third product has no EAN: NULLs inside the sort order.
      ean: i % 3 === 0 ? null : `EAN-${i % 50}`,
      weight: i % 4 === 0 ? null : (i % 13) / 4,
    });
  }
  const payload = products.map((p, i) => ({ ...p, price: price(), taxId: i % 5 === 0 ? otherTaxId : taxId }));
  await sync(t.app, { seed: { entity: 'product', action: 'upsert', payload } }).expect(200);
}, 60_000);

/** Follows `next` until the end; returns every page's ids in order. */
async function walk(body: Record<string, unknown>): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let after: string | undefined;
  let pages = 0;
  for (;;) {
    const res = await search('product', { ...body, ...(after ? { after } : {}) }).expect(200);
    ids.push(...res.body.data.map((r: Row) => r.id));
    pages++;
    after = res.body.next;
    if (!after) return { ids, pages };
    if (pages > 200) throw new Error('pagination does not end');
  }
}

/** The expected order, computed in JS the way the API documents it (NULL sorts as the greatest value). */
function sorted(rows: Row[], keys: { field: keyof Row; order: 'ASC' | 'DESC' }[]): string[] {
  const cmp = (a: unknown, b: unknown) => {
    if (a === b) return 0;
    if (a === null) return 1;
    if (b === null) return -1;
    return (a as number | string) < (b as number | string) ? -1 : 1;
  };
  return [...rows]
    .sort((a, b) => {
      for (const k of keys) {
        const c = cmp(a[k.field], b[k.field]);
        if (c) return k.order === 'ASC' ? c : -c;
      }
      return cmp(a.id, b.id);
    })
    .map((r) => r.id);
}

describe('POST /api/search/<entity>: keyset pagination', () => {
  it('walks 2,500 products by name with `next`, each exactly once, in order', async () => {
    const { ids, pages } = await walk({ sort: [{ field: 'name', order: 'ASC' }], limit: 100 });
    expect(pages).toBe(25);
    expect(new Set(ids).size).toBe(N);
    // Names compare the same in the C locale and the database's for these ASCII values.
    expect(ids).toEqual(sorted(products, [{ field: 'name', order: 'ASC' }]));
  });

  it('keeps every record exactly once when sorting by nullable fields in both directions', async () => {
    const keys = [
      { field: 'ean' as const, order: 'DESC' as const },
      { field: 'weight' as const, order: 'ASC' as const },
    ];
    const { ids } = await walk({ sort: keys, limit: 333 });
    expect(ids).toHaveLength(N);
    expect(new Set(ids).size).toBe(N);
    expect(ids).toEqual(sorted(products, keys));
  });

  it('paginates the filtered set only, with the total of the filter', async () => {
    const filter = [{ type: 'range', field: 'stock', parameters: { gte: 3, lt: 5 } }];
    const first = await search('product', { filter, sort: [{ field: 'stock', order: 'DESC' }], limit: 250, 'total-count-mode': 'exact' }).expect(200);
    expect(first.body.total).toBe(500);
    expect(first.body.data).toHaveLength(250);
    expect(first.body.data.every((r: Row) => r.stock === 4)).toBe(true);
    const second = await search('product', { filter, sort: [{ field: 'stock', order: 'DESC' }], limit: 250, after: first.body.next, 'total-count-mode': 'exact' }).expect(200);
    expect(second.body.total).toBe(500);
    expect(second.body.data.every((r: Row) => r.stock === 3)).toBe(true);
    expect(second.body.next).toBeUndefined();
  });

  it('answers no `total` unless asked, and no `next` on the last page', async () => {
    const res = await search('product', { filter: [{ type: 'equals', field: 'productNumber', value: 'SW-00042' }] }).expect(200);
    expect(res.body).toEqual({ data: [expect.objectContaining({ id: products[42]!.id, name: 'Shirt 0' })] });
  });

  it('pages by number too, in the same order as the keyset', async () => {
    const body = { sort: [{ field: 'stock', order: 'ASC' }], limit: 40 };
    const page3 = await search('product', { ...body, page: 3 }).expect(200);
    const expected = sorted(products, [{ field: 'stock', order: 'ASC' }]).slice(80, 120);
    expect(page3.body.data.map((r: Row) => r.id)).toEqual(expected);
    // `next` of a numbered page continues with keyset pagination where the page ended.
    const page4 = await search('product', { ...body, after: page3.body.next }).expect(200);
    expect(page4.body.data.map((r: Row) => r.id)).toEqual(sorted(products, [{ field: 'stock', order: 'ASC' }]).slice(120, 160));
  });

  it('defaults to 25 records ordered by id', async () => {
    const res = await search('product', {}).expect(200);
    expect(res.body.data.map((r: Row) => r.id)).toEqual([...products.map((p) => p.id)].sort().slice(0, 25));
    const empty = await request(t.app).post('/api/search/product').expect(200);
    expect(empty.body.data).toHaveLength(25);
  });
});

describe('POST /api/search/<entity>: filters', () => {
  const ids = (res: request.Response) => res.body.data.map((r: Row) => r.id).sort();
  const expectIds = (rows: Row[]) => rows.map((r) => r.id).sort();

  it('combines equalsAny, contains, not and multi', async () => {
    const res = await search('product', {
      limit: 500,
      filter: [
        { type: 'equalsAny', field: 'stock', value: [0, 1, 2] },
        { type: 'contains', field: 'name', value: 'IRT 3' },
        { type: 'not', queries: [{ type: 'equals', field: 'ean', value: null }] },
        { type: 'multi', operator: 'or', queries: [{ type: 'equals', field: 'taxId', value: otherTaxId }, { type: 'prefix', field: 'productNumber', value: 'SW-01' }] },
      ],
    }).expect(200);
    const expected = products.filter((p, i) =>
      [0, 1, 2].includes(p.stock) && p.name === 'Shirt 3' && p.ean !== null && (i % 5 === 0 || p.productNumber.startsWith('SW-01')),
    );
    expect(expected.length).toBeGreaterThan(20);
    expect(ids(res)).toEqual(expectIds(expected));
  });

  it('filters by `ids`', async () => {
    const res = await search('product', { ids: [products[5]!.id, products[6]!.id] }).expect(200);
    expect(ids(res)).toEqual(expectIds([products[5]!, products[6]!]));
  });

  it('finds products by term over searchKeywords', async () => {
    // searchKeywords is written by the product.search indexer, which the sync ran inline.
    const res = await search('product', { filter: [{ type: 'term', value: 'sw-00007' }] }).expect(200);
    expect(ids(res)).toEqual([products[7]!.id]);
    const root = await search('product', { term: 'shirt 6', 'total-count-mode': 'exact', limit: 1 }).expect(200);
    expect(root.body.total).toBe(products.filter((p) => p.name === 'Shirt 6').length);
  });

  it('filters an id list by membership (categoryTree)', async () => {
    const cat = hexId();
    const uuid = `${cat.slice(0, 8)}-${cat.slice(8, 12)}-${cat.slice(12, 16)}-${cat.slice(16, 20)}-${cat.slice(20)}`;
    await t.knex.raw(`UPDATE product SET category_tree = ARRAY[?::uuid] WHERE product_number IN ('SW-00001', 'SW-00002')`, [uuid]);
    const res = await search('product', { filter: [{ type: 'equals', field: 'categoryTree', value: cat }] }).expect(200);
    expect(ids(res)).toEqual(expectIds([products[1]!, products[2]!]));
    expect(res.body.data[0].categoryTree).toEqual([cat]);
  });

  it('searches mapping entities by their key fields', async () => {
    const category = hexId();
    await sync(t.app, {
      c: { entity: 'category', action: 'upsert', payload: [{ id: category, name: 'Linen' }] },
      l: { entity: 'product_category', action: 'upsert', payload: [{ productId: products[9]!.id, categoryId: category }] },
    }).expect(200);
    const res = await search('product_category', { filter: [{ type: 'equals', field: 'categoryId', value: category }], associations: ['product'] }).expect(200);
    expect(res.body.data).toEqual([
      expect.objectContaining({ productId: products[9]!.id, categoryId: category, product: expect.objectContaining({ productNumber: 'SW-00009' }) }),
    ]);
  });
});

describe('POST /api/search/<entity>: associations and fields', () => {
  it('loads each association with one query, whatever the number of records', async () => {
    const body = { associations: ['tax', 'manufacturer', 'categories', 'properties'], 'total-count-mode': 'exact' };
    t.counter.reset();
    await search('product', { ...body, limit: 10 }).expect(200);
    // The rate-limit count (shared by the API processes, one upsert per request), then BEGIN, page, tax, categories,
    // properties, count, COMMIT (no product has a manufacturer: nothing to look up).
    expect(t.counter.count).toBe(8);
    t.counter.reset();
    const res = await search('product', { ...body, limit: 200 }).expect(200);
    expect(t.counter.count).toBe(8);
    expect(res.body.data).toHaveLength(200);
    const taxes = new Set(res.body.data.map((r: { tax: { taxRate: number } }) => r.tax.taxRate));
    expect(taxes).toEqual(new Set([19, 7]));
    expect(res.body.data.every((r: { taxId: string; tax: { id: string } }) => r.tax.id === r.taxId)).toBe(true);
  });

  it('answers only the fields asked for (and the key)', async () => {
    const res = await search('product', { limit: 2, fields: ['name', 'tax.name'] }).expect(200);
    // "translated" comes with a translated field (Shopware's key: the values shown, here the default language's).
    // _version comes with every record, like its key (a write based on what was read can send it back).
    expect(Object.keys(res.body.data[0]).sort()).toEqual(['_version', 'id', 'name', 'tax', 'translated']);
    expect(Object.keys(res.body.data[0].tax).sort()).toEqual(['_version', 'id', 'name']);
  });

  it('accepts Shopware\'s object form of associations', async () => {
    const res = await search('category', { associations: { products: { associations: { tax: {} } } }, filter: [{ type: 'equals', field: 'name', value: 'Linen' }] }).expect(200);
    expect(res.body.data[0].products[0].tax).toMatchObject({ name: expect.any(String) });
  });
});

describe('POST /api/search/<entity>: errors', () => {
  it.each([
    [{ filter: [{ type: 'equals', field: 'nope', value: 1 }] }, '/filter/0/field', /no field "nope"/],
    [{ filter: [{ type: 'equals', field: 'searchKeywords', value: 'x' }] }, '/filter/0/field', /no field "searchKeywords"/],
    [{ filter: [{ type: 'range', field: 'stock', parameters: { gt: 'x' } }] }, '/filter/0/parameters/gt', /stock/],
    [{ filter: [{ type: 'term', value: '' }] }, '/filter/0/value', /non-empty/],
    [{ sort: [{ field: 'price', order: 'ASC' }] }, '/sort/0/field', /cannot be sorted/],
    [{ sort: [{ field: 'name', order: 'UP' }] }, '/sort/0/order', /ASC/],
    [{ sort: [{ field: 'searchKeywords' }] }, '/sort/0/field', /no field/],
    [{ limit: 501 }, '/limit', /between 1 and 500/],
    [{ limit: 0 }, '/limit', /between 1 and 500/],
    [{ page: 0 }, '/page', /between 1/],
    [{ page: 2, after: 'abc' }, '/after', /cannot be combined/],
    [{ after: 'not a cursor!' }, '/after', /not a cursor/],
    [{ associations: ['colour'] }, '/associations/0', /no association "colour"/],
    [{ fields: ['tax.nope'] }, '/fields/0', /tax has no readable field "nope"/],
    [{ 'total-count-mode': 'maybe' }, '/total-count-mode', /none/],
    [{ query: 'x' }, '/query', /unknown key/],
  ])('%j → 400 CRITERIA_INVALID at its pointer', async (body, pointer, detail) => {
    const res = await search('product', body).expect(400);
    expect(res.body.errors[0]).toMatchObject({ status: '400', code: 'CRITERIA_INVALID', source: { pointer } });
    expect(res.body.errors[0].detail).toMatch(detail);
  });

  it('refuses filters nested 10,000 levels deep with 400 and a pointer, not a stack overflow', async () => {
    const send = (body: string) => request(t.app).post('/api/search/product').set('content-type', 'application/json').send(body);
    const leaf = '{"type":"equals","field":"name","value":"x"}';
    const operator = await send(`{"filter":[{"type":"not","operator":${'['.repeat(10_000)}"or"${']'.repeat(10_000)},"queries":[${leaf}]}]}`).expect(400);
    expect(operator.body.errors[0]).toMatchObject({ code: 'CRITERIA_INVALID', source: { pointer: '/filter/0/operator' } });
    const multi = await send(`{"filter":[${'{"type":"multi","operator":"or","queries":['.repeat(10_000)}${leaf}${']}'.repeat(10_000)}]}`).expect(400);
    expect(multi.body.errors).toEqual([
      expect.objectContaining({ code: 'CRITERIA_INVALID', source: { pointer: '/filter/0' + '/queries/0'.repeat(MAX_FILTER_DEPTH + 1) } }),
    ]);
    await send(`{"filter":[${'{"type":"multi","operator":"or","queries":['.repeat(MAX_FILTER_DEPTH)}${leaf}${']}'.repeat(MAX_FILTER_DEPTH)}]}`).expect(200);
  });

  it.each(['0000-01-01T00:00:00Z', '2026-11-30T12:00:00+16:00', '2026-11-30T12:00:00-23:59'])(
    'refuses the date-time %s, which PostgreSQL cannot hold, with 400 (found by the fuzzer: it was a 500)',
    async (value) => {
      const res = await search('product', { filter: [{ type: 'range', field: 'createdAt', parameters: { gte: value } }] }).expect(400);
      expect(res.body.errors[0]).toMatchObject({ code: 'CRITERIA_INVALID', source: { pointer: '/filter/0/parameters/gte' } });
    },
  );

  it('still takes the extremes PostgreSQL can hold', async () => {
    for (const value of ['0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999999Z', '2026-11-30T12:00:00+15:59', '2026-11-30T12:00:00-15:59']) {
      await search('product', { filter: [{ type: 'range', field: 'createdAt', parameters: { gte: value } }] }).expect(200);
    }
  });

  it('reports every problem of a body at once', async () => {
    const res = await search('product', { filter: [{ type: 'equals', field: 'nope', value: 1 }], sort: [{ field: 'nope' }], limit: 9999 }).expect(400);
    expect(res.body.errors.map((e: { source: { pointer: string } }) => e.source.pointer)).toEqual(['/filter/0/field', '/sort/0/field', '/limit']);
  });

  it('refuses a cursor made for another sort order, or tampered with', async () => {
    const first = await search('product', { sort: [{ field: 'name', order: 'ASC' }], limit: 5 }).expect(200);
    const other = await search('product', { sort: [{ field: 'stock', order: 'ASC' }], limit: 5, after: first.body.next }).expect(400);
    expect(other.body.errors[0]).toMatchObject({ code: 'CRITERIA_INVALID', source: { pointer: '/after' } });
    const forged = Buffer.from(JSON.stringify({ o: 'product:name:ASC,id:ASC', v: ['Shirt 1', 'not-a-uuid'] })).toString('base64url');
    const res = await search('product', { sort: [{ field: 'name', order: 'ASC' }], after: forged }).expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'CRITERIA_INVALID', source: { pointer: '/after' } });
  });

  it('answers 404 for an unknown entity and 400 for a body that is not JSON', async () => {
    expect((await search('nonsense', {}).expect(404)).body.errors[0].code).toBe('NOT_FOUND');
    const res = await request(t.app).post('/api/search/product').set('content-type', 'application/json').send('{"filter":').expect(400);
    expect(res.body.errors[0].code).toBe('BODY_NOT_JSON');
  });
});
