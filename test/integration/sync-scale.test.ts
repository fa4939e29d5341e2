import { startTestApp, type TestApp } from '../support/app';
import { count, createTax, sync, storedRows } from '../support/sync';
import { EN_LANGUAGE, hexId, products } from '../fixtures/catalog';
import { chunkPaths, pathsSince } from '../support/metrics';
import { until } from '../support/poll';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('set-based writes', () => {
  // A handful of statements per table and chunk of SYNC_CHUNK_RECORDS (2,000): lookups, reference and unique checks,
  // one COPY and one INSERT … SELECT or UPDATE … FROM, savepoints. Never one per record. A product is two tables: its
  // row and its default-language translation.
  const perChunk = (records: number, tables = 2) => 10 * tables * Math.ceil(records / t.config.SYNC_CHUNK_RECORDS) + 10;

  it('writes 10,000 products with a handful of SQL statements per chunk, then updates them likewise', async () => {
    const taxId = await createTax(t.app);
    const payload = products(taxId, 10_000);
    t.counter.reset();
    const res = await sync(t.app, { import: { entity: 'product', action: 'upsert', payload } }).expect(200);
    const inserted = t.counter.count;
    expect(res.body.data.product).toHaveLength(10_000);
    expect(res.body.data.product[9999]).toBe(payload[9999]!.id);
    expect(await count(t.knex, 'product')).toBe(10_000);
    expect(inserted).toBeLessThan(perChunk(10_000));

    const update = payload.map((p, i) => (i % 2 ? { id: p.id, stock: 1 } : { id: p.id, name: `renamed ${i}`, description: 'd' }));
    t.counter.reset();
    await sync(t.app, { update: { entity: 'product', action: 'upsert', payload: update } }).expect(200);
    expect(t.counter.count).toBeLessThan(perChunk(10_000));
    expect(await storedRows(t, 'product').where({ stock: 1 }).count()).toEqual([{ count: 5000 }]);
    expect(await storedRows(t, 'product').where({ description: 'd' }).count()).toEqual([{ count: 5000 }]);
  });

  it('deletes 10,000 products with a handful of statements', async () => {
    const ids = (await storedRows(t, 'product').pluck('id')).map((id: string) => id.replace(/-/g, ''));
    t.counter.reset();
    const res = await sync(t.app, { d: { entity: 'product', action: 'delete', payload: [...ids.map((id) => ({ id })), { id: hexId() }] } }).expect(200);
    expect(t.counter.count).toBeLessThan(50);
    expect(res.body.deleted.product).toHaveLength(ids.length);
    expect(res.body.notFound.product).toHaveLength(1);
    expect(await count(t.knex, 'product')).toBe(0);
  });
});

describe("the stages of a request's chunks", () => {
  // Each chunk's COPYs fill the entities' staging tables, emptied with the chunk's savepoint in one round trip. A
  // stage still holding the chunk before would give a key two rows in one statement.
  const twice = (taxId: string, from: number) => {
    const first = products(taxId, t.config.SYNC_CHUNK_RECORDS, from);
    const again: Record<string, unknown>[] = first.map((p, i) => ({ ...p, stock: 7, name: `second ${i}` }));
    return { first, again };
  };
  const names = async (ids: unknown[]) =>
    new Map((await storedRows(t, 'product_translation').whereIn('product_id', ids as string[]).select('product_id', 'name')).map((r: { product_id: string; name: string }) => [r.product_id.replace(/-/g, ''), r.name]));

  it('a record sent again in a later chunk of the request ends as the later chunk says', async () => {
    const taxId = await createTax(t.app);
    const { first, again } = twice(taxId, 200_000);
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [...first, ...again] } }).expect(200);
    expect(res.body.data.product).toHaveLength(2 * first.length);
    const ids = first.map((p) => p.id);
    expect(await storedRows(t, 'product').whereIn('id', ids as string[]).where({ stock: 7 }).count()).toEqual([{ count: first.length }]);
    const stored = await names(ids);
    expect(first.every((p, i) => stored.get(p.id as string) === `second ${i}`)).toBe(true);
  });

  it('so does it after the later chunk went back to its savepoint for a bad record (partial success)', async () => {
    const taxId = await createTax(t.app);
    const { first, again } = twice(taxId, 300_000);
    const bad = 17;
    again[bad] = { ...again[bad], taxId: hexId() };
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [...first, ...again] } }, { 'fail-on-error': 'false' }).expect(200);
    expect(res.body.errors).toEqual([expect.objectContaining({ code: 'FK_NOT_FOUND', source: { pointer: `/p/${first.length + bad}/taxId` } })]);
    const ids = first.map((p) => p.id);
    expect(await storedRows(t, 'product').whereIn('id', ids as string[]).where({ stock: 7 }).count()).toEqual([{ count: first.length - 1 }]);
    const stored = await names(ids);
    expect(first.every((p, i) => stored.get(p.id as string) === (i === bad ? p.name : `second ${i}`))).toBe(true);
  });
});

describe("a later chunk whose first table fails", () => {
  // While PostgreSQL runs a chunk's last statement, the service encodes the next chunk's first table (its products) when
  // that chunk is planned by then, which depends on the request's timing (happy-path-early.test.ts covers the early
  // table itself): either way, when that table's statement fails, the chunk is diagnosed as any other, and nothing
  // of the request is written.
  it('answers FK_NOT_FOUND for the record of the later chunk and writes none of the request', async () => {
    const size = t.config.SYNC_CHUNK_RECORDS;
    const bad = 123;
    const payload: Record<string, unknown>[] = products(await createTax(t.app), 2 * size, 800_000);
    payload[size + bad] = { ...payload[size + bad], taxId: hexId() };
    const before = await chunkPaths(t.bare);
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload } }, { 'indexing-behavior': 'disable-indexing' });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ code: 'FK_NOT_FOUND', source: { pointer: `/p/${size + bad}/taxId` } })]);
    expect(pathsSince(before, await chunkPaths(t.bare))).toEqual({ checked: 1, checked_again: 0, diagnosed: 1, looked_up: 0 });
    expect(await storedRows(t, 'product').whereIn('id', payload.map((p) => p.id as string)).count()).toEqual([{ count: 0 }]);
  });
});

describe('concurrent requests', () => {
  it('two requests touching the same keys in opposite order both succeed', async () => {
    const taxId = await createTax(t.app);
    const payload = products(taxId, 400, 50_000);
    await sync(t.app, { seed: { entity: 'product', action: 'upsert', payload } }).expect(200);
    const forward = payload.map((p) => ({ id: p.id, stock: 1 }));
    const backward = [...payload].reverse().map((p) => ({ id: p.id, stock: 2 }));
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all([
        sync(t.app, { a: { entity: 'product', action: 'upsert', payload: forward } }),
        sync(t.app, { b: { entity: 'product', action: 'upsert', payload: backward } }),
        sync(t.app, { c: { entity: 'product', action: 'upsert', payload: forward.slice(100, 300) } }),
      ]);
      expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    }
    const stocks = await storedRows(t, 'product').whereIn('product_number', payload.map((p) => p.productNumber as string)).distinct('stock').pluck('stock');
    expect(stocks.every((s: number) => s === 1 || s === 2)).toBe(true);
  });

  it('concurrent creates of the same new ids end as merges, not errors', async () => {
    const taxId = await createTax(t.app);
    const payload = products(taxId, 200, 60_000);
    const results = await Promise.all([
      sync(t.app, { a: { entity: 'product', action: 'upsert', payload } }),
      sync(t.app, { b: { entity: 'product', action: 'upsert', payload: [...payload].reverse() } }),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    expect(await storedRows(t, 'product').where('product_number', 'like', 'SW-60%').count()).toEqual([{ count: 200 }]);
  });

  it('concurrent requests mixing existing keys and new keys they share do not deadlock', async () => {
    const taxId = await createTax(t.app);
    const existing = products(taxId, 400, 70_000);
    await sync(t.app, { seed: { entity: 'product', action: 'upsert', payload: existing } }).expect(200);
    const deadlocks = async () => (await t.knex.raw('SELECT deadlocks::int AS n FROM pg_stat_database WHERE datname = current_database()')).rows[0].n as number;
    const before = await deadlocks();
    // As the bench's mixed load: each request updates some existing products and creates products from a window
    // of new keys that moves on while other clients are still writing it, so a key is new for one client and just
    // committed for another.
    const fresh = products(taxId, 3000, 80_000);
    const statuses: number[] = [];
    // A fixed number of rounds, not a time budget: the window of new keys moves with every request any client sends,
    // so whatever the machine's speed, requests overlap on keys that are new for one and just committed for another.
    const ROUNDS = 5;
    let sent = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, c) => {
        for (let n = 0; n < ROUNDS; n++) {
          const at = Math.min(sent++ * 15, fresh.length - 60);
          const pick = Array.from({ length: 30 }, (_, i) => existing[(c * 37 + n * 11 + i * 13) % existing.length]!);
          const payload = [...pick, ...fresh.slice(at, at + 30)].map((p) => ({ ...p, stock: c }));
          const res = await sync(t.app, { mixed: { entity: 'product', action: 'upsert', payload: n % 2 ? payload.reverse() : payload } });
          statuses.push(res.status);
        }
      }),
    );
    expect(statuses).toHaveLength(8 * ROUNDS);
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(await deadlocks()).toBe(before);
  });
});

describe('a chunk whose later table fails after the tables before it were written', () => {
  // The happy path encodes a table's rows while PostgreSQL runs the statement of the table before it: a failure of a
  // later table (here the products, after their manufacturers and the manufacturers' translations) still undoes the
  // chunk, and the diagnosing path names the record.
  // Without indexing: the search keywords' indexer reads a manufacturer's rows before they change, and a chunk that
  // writes manufacturers with it inline takes the path that looks every record up first.
  const NO_INDEXING = { 'indexing-behavior': 'disable-indexing' };
  // 1,200 products (every table of the chunk goes through its stage), each with a new manufacturer; `bad` names no tax.
  const withMakers = (taxId: string, from: number, bad: number): Record<string, unknown>[] =>
    products(taxId, 1_200, from).map((p, i) => ({ ...p, ...(i === bad ? { taxId: hexId() } : {}), manufacturer: { id: hexId(), name: `Maker ${i}` } }));
  it('answers FK_NOT_FOUND for the record and writes none of the request', async () => {
    const bad = 700;
    const payload = withMakers(await createTax(t.app), 400_000, bad);
    const before = await chunkPaths(t.bare);
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload } }, NO_INDEXING);
    expect(res.status).toBe(400);
    // The chunk went the happy path (a statement per table) and was diagnosed after the products' statement failed.
    const after = await chunkPaths(t.bare);
    expect(pathsSince(before, after)).toEqual({ checked: 0, checked_again: 0, diagnosed: 1, looked_up: 0 });
    expect(res.body.errors).toEqual([expect.objectContaining({ code: 'FK_NOT_FOUND', source: { pointer: `/p/${bad}/taxId` } })]);
    const makers = payload.map((p) => (p.manufacturer as { id: string }).id);
    expect(await storedRows(t, 'product_manufacturer').whereIn('id', makers).count()).toEqual([{ count: 0 }]);
    expect(await storedRows(t, 'product').whereIn('id', payload.map((p) => p.id as string)).count()).toEqual([{ count: 0 }]);
  });

  it('with fail-on-error false, writes every other record and its manufacturer', async () => {
    const bad = 300;
    const payload = withMakers(await createTax(t.app), 500_000, bad);
    const before = await chunkPaths(t.bare);
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload } }, { ...NO_INDEXING, 'fail-on-error': 'false' }).expect(200);
    const after = await chunkPaths(t.bare);
    // Diagnosed without the bad record, then the rest written by the happy path once more.
    expect(pathsSince(before, after)).toEqual({ checked: 1, checked_again: 0, diagnosed: 1, looked_up: 0 });
    expect(res.body.errors).toEqual([expect.objectContaining({ code: 'FK_NOT_FOUND', source: { pointer: `/p/${bad}/taxId` } })]);
    expect(res.body.data.product).toHaveLength(1_199);
    const ids = payload.map((p) => p.id as string);
    expect(await storedRows(t, 'product').whereIn('id', ids).count()).toEqual([{ count: 1_199 }]);
    const stored = await storedRows(t, 'product_manufacturer').whereIn('id', payload.filter((_, i) => i !== bad).map((p) => (p.manufacturer as { id: string }).id)).count();
    expect(stored).toEqual([{ count: 1_199 }]);
  });
});

describe('rows another transaction inserted while the statement ran', () => {
  // The products' insert waits for another transaction's rows of the same keys and skips them once it committed; the
  // chunk writes them once more, as stored rows, through the products' stage emptied of the first statement's rows.
  it('are written once more and counted as written, in a chunk large enough for COPY', async () => {
    const taxId = await createTax(t.app);
    const payload = products(taxId, 1_500, 700_000);
    // 1,200 of them, spread over the chunk, inserted by another transaction with another stock and held uncommitted.
    const held = payload.filter((_, i) => i % 5 !== 0);
    const trx = await t.knex.transaction();
    try {
      await trx('product').insert(held.map((p) => ({ id: p.id, product_number: p.productNumber, stock: 999, price: JSON.stringify(p.price), tax_id: taxId })));
      // Their names as sent: only the products' own rows differ, so each must come back as written by position.
      await trx('product_translation').insert(held.map((p) => ({ product_id: p.id, language_id: EN_LANGUAGE, name: p.name })));
      const before = await chunkPaths(t.bare);
      const answer = sync(t.app, { p: { entity: 'product', action: 'upsert', payload } }, { prefer: 'return=minimal' }).then((r) => r);
      // The request's insert waits for the held rows; then they are committed.
      const waiting = async () => Number((await t.knex.raw(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0].n);
      expect(await until(waiting, (n) => n > 0)).toBeGreaterThan(0);
      await trx.commit();
      const res = await answer;
      expect(res.status).toBe(200);
      expect(res.body.counts.data.product).toBe(1_500);
      // Every product written (its stock differed), the held translation rows stored as sent.
      expect(res.body.counts.unchanged).toEqual({ product_translation: 1_200 });
      // Written once more inside the chunk: not run again from its savepoint, not diagnosed.
      expect(pathsSince(before, await chunkPaths(t.bare))).toEqual({ checked: 1, checked_again: 0, diagnosed: 0, looked_up: 0 });
    } finally {
      if (!trx.isCompleted()) await trx.rollback();
    }
    const stocks = await storedRows(t, 'product').whereIn('id', payload.map((p) => p.id as string)).select('stock');
    expect(stocks.filter((r: { stock: number }) => r.stock === 999)).toEqual([]);
    expect(stocks).toHaveLength(1_500);
  });
});
