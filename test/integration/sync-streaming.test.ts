import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { hexId, price, product, products } from '../fixtures/catalog';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/poll';
import { count, createTax, sync } from '../support/sync';

/**
 * The streaming pipeline: NDJSON bodies, bodies past the old 64 MB limit, and what happens across chunks (errors,
 * references, a body cut off, a client gone). `small` plans and writes 10 records at a time, so that a few dozen
 * records cross several chunk boundaries.
 */
let t: TestApp;
let small: TestApp;
beforeAll(async () => {
  [t, small] = await Promise.all([startTestApp(), startTestApp({ SYNC_CHUNK_RECORDS: '10' })]);
});
afterAll(async () => {
  await Promise.all([t?.close(), small?.close()]);
});

const ndjson = (lines: unknown[]) => lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';
const postNdjson = (app: TestApp, body: string, headers: Record<string, string> = {}) =>
  request(app.app).post('/api/_action/sync').set('content-type', 'application/x-ndjson').set(headers).send(body);
const usedConnections = (app: TestApp) => (app.knex.client as { pool: { numUsed(): number } }).pool.numUsed();
const openTransactions = async (app: TestApp) =>
  Number(
    (
      await app.knex.raw<{ rows: { n: string }[] }>(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()`,
      )
    ).rows[0]!.n,
  );

describe('NDJSON bodies', () => {
  it('runs upserts, deletes by key and by criteria from header and record lines, across chunks', async () => {
    const taxId = hexId();
    const list = products(taxId, 25);
    const gone = list[3]!.id as string;
    const body = ndjson([
      { operation: { key: 'taxes', entity: 'tax', action: 'upsert' } },
      { id: taxId, name: 'Standard', taxRate: 19 },
      '',
      { operation: { key: 'products', entity: 'product', action: 'upsert' } },
      ...list,
      { operation: { entity: 'product', action: 'delete' } },
      { id: gone },
      { operation: { key: 'clear', entity: 'product', action: 'delete', criteria: [{ type: 'equals', field: 'productNumber', value: 'SW-7' }] } },
    ]);
    const res = await postNdjson(small, body).expect(200);
    expect(res.body.data.tax).toEqual([taxId]);
    expect(res.body.data.product).toHaveLength(25);
    expect(res.body.deleted.product.sort()).toEqual([gone, list[7]!.id].sort());
    expect(await count(small.knex, 'product')).toBe(23);
  });

  it('reports every problem with its line: a line that is not JSON, a record before any header, a bad value; nothing is written', async () => {
    const taxId = await createTax(t.app, 'NDJSON tax');
    const body = ndjson([
      { name: 'orphan' },
      { operation: { key: 'p', entity: 'product', action: 'upsert' } },
      product(taxId, 1),
      '{"productNumber": "SW-2", "name": ',
      product(taxId, 3, { stock: 'many' }),
      product(taxId, 4),
    ]);
    const res = await postNdjson(t, body).expect(400);
    const errors = res.body.errors as { code: string; source: { pointer: string }; meta: { line: number } }[];
    expect(errors.map((e) => [e.code, e.meta.line])).toEqual([
      ['OPERATION_INVALID', 1],
      ['BODY_NOT_JSON', 4],
      ['VALUE_INVALID', 5],
    ]);
    // The line that is not JSON takes its record position: the pointers after it match their lines.
    expect(errors[1]!.source.pointer).toBe('/p/1');
    expect(errors[2]!.source.pointer).toBe('/p/2/stock');
    expect(await count(t.knex, 'product')).toBe(0);
  });

  it('refuses a payload inside an NDJSON header, and an empty body', async () => {
    const header = await postNdjson(t, ndjson([{ operation: { entity: 'tax', action: 'upsert', payload: [] } }])).expect(400);
    expect(header.body.errors[0]).toMatchObject({ code: 'OPERATION_INVALID', meta: { line: 1 } });
    const empty = await postNdjson(t, '\n\n').expect(400);
    expect(empty.body.errors[0]).toMatchObject({ code: 'BODY_NOT_JSON', detail: 'the body is empty' });
  });
});

describe('a body refused before it is read', () => {
  it('a corrupt compressed body behind an invalid header: 400, and the process lives on', async () => {
    // The decompressor used to be fed before the headers were checked: its error then had no listener.
    const res = await request(t.app)
      .post('/api/_action/sync')
      .set('content-type', 'application/json')
      .set('content-encoding', 'gzip')
      .set('fail-on-error', 'maybe')
      .send(Buffer.from('definitely not gzip'))
      .expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'HEADER_INVALID' });
    await new Promise((r) => setTimeout(r, 100));
    await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [{ name: 'Still alive', taxRate: 5 }] } }).expect(200);
  });
});

describe('Prefer: return=minimal', () => {
  it('answers counts per entity instead of id lists, and says so', async () => {
    const taxId = await createTax(t.app, 'Minimal tax');
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: products(taxId, 12, 500) } }, { prefer: 'return=minimal' }).expect(200);
    expect(res.headers['preference-applied']).toBe('return=minimal');
    // Each product's name is its default-language translation row, counted as Shopware lists those rows in `data`.
    expect(res.body).toEqual({ extensions: [], counts: { data: { product: 12, product_translation: 12 }, deleted: {}, notFound: {}, skipped: {}, unchanged: {} } });
  });
});

describe('errors across chunks', () => {
  it('collects the problems of every chunk (type errors and required fields of new records alike), writes nothing', async () => {
    const taxId = await createTax(small.app, 'Chunk tax');
    const before = await count(small.knex, 'product');
    const list = products(taxId, 35, 1000);
    list[2]!.stock = 'abc';
    delete list[17]!.name;
    delete list[33]!.id;
    delete list[33]!.price;
    const res = await sync(small.app, { p: { entity: 'product', action: 'upsert', payload: list } }).expect(400);
    const pointers = (res.body.errors as { source: { pointer: string }; code: string }[]).map((e) => `${e.code} ${e.source.pointer}`);
    expect(pointers).toEqual(expect.arrayContaining(['VALUE_INVALID /p/2/stock', 'FIELD_REQUIRED /p/17/name', 'FIELD_REQUIRED /p/33/price']));
    expect(pointers).toHaveLength(3);
    expect(await count(small.knex, 'product')).toBe(before);
  });

  it('reports a type error and the missing required fields of new records together, in one chunk', async () => {
    const taxId = await createTax(t.app, 'One chunk tax');
    const res = await sync(t.app, {
      p: {
        entity: 'product',
        action: 'upsert',
        payload: [
          { productNumber: 'R-1', name: 'ok', stock: 'x', price: price(), taxId },
          { productNumber: 'R-2', stock: 1, price: price(), taxId },
          { name: 'no number', stock: 1, taxId },
        ],
      },
    }).expect(400);
    const got = (res.body.errors as { source: { pointer: string }; code: string }[]).map((e) => `${e.code} ${e.source.pointer}`).sort();
    expect(got).toEqual(['FIELD_REQUIRED /p/1/name', 'FIELD_REQUIRED /p/2/price', 'FIELD_REQUIRED /p/2/productNumber', 'VALUE_INVALID /p/0/stock']);
  });

  it('refuses an operation property that comes after a payload already planned in chunks', async () => {
    const taxId = await createTax(small.app, 'Late tax');
    const before = await count(small.knex, 'product');
    const body = `{"p": {"entity": "product", "action": "upsert", "payload": ${JSON.stringify(products(taxId, 25, 2000))}, "mode": "replace"}}`;
    const res = await request(small.app).post('/api/_action/sync').set('content-type', 'application/json').send(body).expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'OPERATION_INVALID', source: { pointer: '/p/mode' } });
    expect(await count(small.knex, 'product')).toBe(before);
  });
});

describe('references across chunks', () => {
  it('a category may name a parent that comes chunks later in the same operation', async () => {
    const cats = Array.from({ length: 30 }, (_, i) => ({ id: hexId(), name: `Cat ${i}` }));
    (cats[0] as Record<string, unknown>).parentId = cats[25]!.id;
    (cats[5] as Record<string, unknown>).parentId = cats[29]!.id;
    (cats[26] as Record<string, unknown>).parentId = cats[1]!.id;
    await sync(small.app, { c: { entity: 'category', action: 'upsert', payload: cats } }).expect(200);
    const parent = async (id: string) => (await small.knex('category').where({ id: id.replace(/(.{8})(.{4})(.{4})(.{4})(.{12})/, '$1-$2-$3-$4-$5') }).first())!;
    expect((await parent(cats[0]!.id)).parent_id.replace(/-/g, '')).toBe(cats[25]!.id);
    expect((await parent(cats[5]!.id)).parent_id.replace(/-/g, '')).toBe(cats[29]!.id);
    expect((await parent(cats[26]!.id)).parent_id.replace(/-/g, '')).toBe(cats[1]!.id);
    // The tree indexer ran after the references were set: the child's level counts its parent.
    expect((await parent(cats[0]!.id)).level).toBe((await parent(cats[25]!.id)).level + 1);
  });

  it('a forward reference that never comes is FK_NOT_FOUND at the record that made it; nothing is written', async () => {
    const before = await count(small.knex, 'category');
    const cats = Array.from({ length: 25 }, (_, i) => ({ id: hexId(), name: `Lost ${i}` }));
    (cats[3] as Record<string, unknown>).parentId = hexId();
    const res = await sync(small.app, { c: { entity: 'category', action: 'upsert', payload: cats } }).expect(400);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0]).toMatchObject({ code: 'FK_NOT_FOUND', source: { pointer: '/c/3/parentId' } });
    expect(await count(small.knex, 'category')).toBe(before);
  });
});

describe('big and broken bodies', () => {
  it('takes a JSON body larger than the old 64 MB limit', async () => {
    const taxId = await createTax(t.app, 'Big tax');
    const description = 'x'.repeat(100_000);
    const payload = Array.from({ length: 700 }, (_, i) => product(taxId, 10_000 + i, { description }));
    const body = JSON.stringify({ big: { entity: 'product', action: 'upsert', payload } });
    expect(body.length).toBeGreaterThan(64 * 1024 * 1024);
    const res = await request(t.app)
      .post('/api/_action/sync')
      .set('content-type', 'application/json')
      .set('indexing-behavior', 'disable-indexing')
      .set('prefer', 'return=minimal')
      .send(body)
      .expect(200);
    expect(res.body.counts.data.product).toBe(700);
    expect(Number((await t.knex('product').where('product_number', 'like', 'SW-10%').count<{ n: string }[]>('* as n'))[0]!.n)).toBeGreaterThanOrEqual(700);
  });

  it('a body cut off after its first chunks were written: BODY_NOT_JSON, rolled back, the connection back in the pool', async () => {
    const taxId = await createTax(small.app, 'Cut tax');
    const before = await count(small.knex, 'product');
    const whole = JSON.stringify({ p: { entity: 'product', action: 'upsert', payload: products(taxId, 40, 3000) } });
    const res = await request(small.app).post('/api/_action/sync').set('content-type', 'application/json').send(whole.slice(0, Math.floor(whole.length * 0.8))).expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'BODY_NOT_JSON' });
    expect(res.body.errors[0].detail).toMatch(/ends in the middle/);
    expect(await count(small.knex, 'product')).toBe(before);
    expect(await until(async () => usedConnections(small) + (await openTransactions(small)), (n) => n === 0)).toBe(0);
  });

  it('a client that disconnects halfway: the transaction is rolled back and its connection returned, nothing written', async () => {
    const taxId = await createTax(small.app, 'Gone tax');
    const before = await count(small.knex, 'product');
    const server = http.createServer(small.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/api/_action/sync', headers: { 'content-type': 'application/x-ndjson', 'transfer-encoding': 'chunked' } });
      req.on('error', () => undefined);
      req.write(ndjson([{ operation: { key: 'p', entity: 'product', action: 'upsert' } }, ...products(taxId, 35, 4000)]));
      // Three chunks of ten have gone to PostgreSQL (or are on their way) when the client vanishes.
      await until(async () => usedConnections(small) + (await openTransactions(small)), (n) => n > 0);
      req.destroy();
      expect(await until(async () => usedConnections(small) + (await openTransactions(small)), (n) => n === 0)).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await count(small.knex, 'product')).toBe(before);
  });
});
