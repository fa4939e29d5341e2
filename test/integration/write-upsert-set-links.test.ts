import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { withTransaction, type Sql } from '../../src/db/sql';
import { COPY_MIN_ROWS } from '../../src/write/row-source';
import { upsertSet } from '../../src/write/upsert-set';
import type { WriteRow } from '../../src/write/upsert';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/poll';

/**
 * The one-statement write of an entity whose rows are only their key (a mapping: product_category), in both ways rows
 * reach PostgreSQL (array parameters, COPY). Inserted rows are reported by position; a link already stored is left
 * as it is and reported in no list; one another transaction inserts meanwhile is waited for, then counts as stored.
 */
let t: TestApp;
const products: string[] = [];
const categories: string[] = [];
beforeAll(async () => {
  t = await startTestApp();
  const tax = randomUUID();
  await t.knex('tax').insert({ id: tax, name: 'Standard', tax_rate: 19 });
  const price = JSON.stringify([{ currencyId: 'b7d2554b0ce847cd82f3ac9bd1c0dfca', gross: 1, net: 1, linked: true }]);
  for (let i = 0; i < 3; i++) products.push(randomUUID());
  for (let i = 0; i < COPY_MIN_ROWS; i++) categories.push(randomUUID());
  await t.knex('product').insert(products.map((id, i) => ({ id, product_number: `LINK-${i}`, stock: 1, price, tax_id: tax })));
  await t.knex.batchInsert('category', categories.map((id) => ({ id })), 1000);
});
afterAll(() => t.close());
beforeEach(() => t.knex.raw('TRUNCATE product_category'));

const links = () => t.registry.get('product_category');
const link = (productId: string, categoryId: string): WriteRow => ({ key: { productId, categoryId }, values: new Map([['productId', productId], ['categoryId', categoryId]]) });
const tx = <T>(fn: (sql: Sql) => Promise<T>) => withTransaction(t.knex, fn, { retries: 0 });

describe.each([
  ['a few rows (array parameters)', 3],
  ['many rows (COPY)', COPY_MIN_ROWS],
] as const)('links, %s', (_way, n) => {
  it('inserts the new links, reports them by position, and leaves stored ones alone', async () => {
    const rows = categories.slice(0, n).map((c) => link(products[0]!, c));
    await t.knex('product_category').insert({ product_id: products[0], category_id: categories[1] });
    const before = await t.knex('product_category').where({ category_id: categories[1] }).first('xmin');
    const outcome = await tx((sql) => upsertSet(sql, { entity: links(), rows, mergeKeys: true }));
    expect(outcome).toEqual({ inserted: rows.map((_, i) => i).filter((i) => i !== 1), updated: [], missed: [] });
    expect(await t.knex('product_category').count({ n: '*' }).first()).toEqual({ n });
    // The stored link got no new row version.
    expect(await t.knex('product_category').where({ category_id: categories[1] }).first('xmin')).toEqual(before);
  });
});

it('waits for a link another transaction is inserting, then counts it as stored (not missed)', async () => {
  const other = new pg.Client({ connectionString: t.url });
  await other.connect();
  try {
    await other.query('BEGIN');
    await other.query('INSERT INTO product_category (product_id, category_id) VALUES ($1, $2)', [products[1], categories[0]]);
    const rows = [link(products[1]!, categories[0]!), link(products[1]!, categories[1]!)];
    const writing = tx((sql) => upsertSet(sql, { entity: links(), rows, mergeKeys: true }));
    // The write waits for the other transaction's uncommitted link.
    await until(
      async () => (await t.knex.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`)).rows[0].n,
      (waiting: number) => waiting > 0,
    );
    await other.query('COMMIT');
    expect(await writing).toEqual({ inserted: [1], updated: [], missed: [] });
  } finally {
    await other.end();
  }
  expect(await t.knex('product_category').where({ product_id: products[1] }).count({ n: '*' }).first()).toEqual({ n: 2 });
});
