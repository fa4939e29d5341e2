import pg from 'pg';
import { toDbId } from '../../src/definitions/ids';
import { EN_LANGUAGE, price } from '../fixtures/catalog';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/poll';
import { createTax, sync } from '../support/sync';

/**
 * Every request locks the products it writes first, in key order, and only then their translation rows and links:
 * that shared order is why concurrent requests do not deadlock. A product whose name changes while its own row is
 * stored as sent is not written by the request's product statement, so that statement does not lock it; the
 * product listing's trigger (which locks the products whose listed name changes) must then not wait for it after
 * the translation rows were locked. Here another transaction holds such a product A, the request waits, and the
 * other transaction then asks for the translation row of the request's product B: with the lock taken out of order
 * the request would hold B's translation row while it waits for A, a deadlock (and, without retries, a 503).
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ SYNC_MAX_RETRIES: '0' });
});
afterAll(() => t.close());

const hex = (n: number) => `0189bf2a627a7296adbc83527bc0${String(n).padStart(4, '0')}`;

it('a request waits for a product another transaction holds without holding the translation rows it will write', async () => {
  const taxId = await createTax(t.app, 'Lock order');
  const [A, B] = [hex(1), hex(2)];
  const stored = (id: string, n: number) => ({ id, productNumber: `LO-${n}`, stock: n, taxId, price: price() });
  await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ ...stored(A, 1), name: 'A 0' }, { ...stored(B, 2), name: 'B 0' }] } }).expect(200);

  const other = new pg.Client({ connectionString: t.url });
  await other.connect();
  try {
    // The request must be the one to find a deadlock, were there one: the other connection looks only after 10 s.
    await other.query(`SET deadlock_timeout = '10s'`);
    await other.query('BEGIN');
    await other.query('SELECT 1 FROM product WHERE id = $1 FOR NO KEY UPDATE', [toDbId(A)]);
    // A: its row as stored, a new name. B: a new stock and a new name.
    const answer = sync(t.app, {
      p: { entity: 'product', action: 'upsert', payload: [{ ...stored(A, 1), name: 'A 1' }, { ...stored(B, 2), stock: 20, name: 'B 1' }] },
    }).then((r) => r);
    await until(
      async () => (await other.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0].n,
      (n: number) => n > 0,
    );
    // While the request waits for A, it holds no translation row of B.
    await other.query('SELECT 1 FROM product_translation WHERE product_id = $1 AND language_id = $2 FOR NO KEY UPDATE', [toDbId(B), toDbId(EN_LANGUAGE)]);
    await other.query('COMMIT');
    const res = await answer;
    expect(res.status).toBe(200);
  } finally {
    await other.end();
  }
  const names = await t.knex('product_translation').whereIn('product_id', [toDbId(A), toDbId(B)]).orderBy('product_id').pluck('name');
  expect(names).toEqual(['A 1', 'B 1']);
  const stock = await t.knex('product').where('id', toDbId(B)).first('stock');
  expect(stock.stock).toBe(20);
});

/**
 * A record that is new when the request's statement starts and inserted by another transaction before the request's
 * insert reaches it: the insert waits for that transaction, skips the row, and the row is then written as a stored
 * one (updated where it differs, left alone where it is what the request sends). The answer lists every record; only
 * the one the request changed is new in the change feed.
 */
describe('records another transaction inserts while the request writes them', () => {
  async function race(theirStock: number) {
    const taxId = await createTax(t.app, `Meanwhile ${theirStock}`);
    const [J, K, L] = [hex(10 + theirStock), hex(20 + theirStock), hex(30 + theirStock)];
    const other = new pg.Client({ connectionString: t.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      // K and L as the other transaction writes them: K with another stock, L with the request's own values.
      for (const [id, stock] of [[K, theirStock], [L, 3]] as const) {
        await other.query(`INSERT INTO product (id, product_number, stock, price, tax_id, created_at) VALUES ($1, $2, $3, $4, $5, now())`, [
          toDbId(id), `MW-${id}`, stock, JSON.stringify(price()), toDbId(taxId)]);
        await other.query(`INSERT INTO product_translation (product_id, language_id, name, created_at) VALUES ($1, $2, $3, now())`, [toDbId(id), toDbId(EN_LANGUAGE), `Mine ${id}`]);
      }
      const answer = sync(t.app, {
        p: {
          entity: 'product',
          action: 'upsert',
          payload: [J, K, L].map((id, i) => ({ id, productNumber: `MW-${id}`, stock: i + 1, taxId, price: price(), name: `Mine ${id}` })),
        },
      }, { prefer: 'return=minimal' }).then((r) => r);
      await until(
        async () => (await other.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0].n,
        (n: number) => n > 0,
      );
      await other.query('COMMIT');
      const res = await answer;
      return { res, ids: [J, K, L] };
    } finally {
      await other.end();
    }
  }

  it('updates the one that differs and leaves the one stored as sent alone', async () => {
    const { res, ids } = await race(9);
    expect(res.status).toBe(200);
    // J inserted, K updated (stock 9 → 2), L stored by the other transaction exactly as the request sends it.
    expect(res.body.counts).toEqual({ data: { product: 3, product_translation: 3 }, deleted: {}, notFound: {}, skipped: {}, unchanged: { product: 1, product_translation: 2 } });
    const stocks = await t.knex('product').whereIn('id', ids.map(toDbId)).orderBy('id').pluck('stock');
    expect(stocks).toEqual([1, 2, 3]);
  });
});
