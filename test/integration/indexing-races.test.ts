import pg from 'pg';
import { toDbId } from '../../src/definitions/ids';
import { withTransaction } from '../../src/db/sql';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/poll';
import { createTax, sync, storedRows } from '../support/sync';
import { hexId, product } from '../fixtures/catalog';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

/** Waits until some statement of the test database waits for a lock. */
async function someoneWaits(): Promise<void> {
  const n = await until(
    async () => (await t.knex.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0].n,
    (v: number) => v > 0,
  );
  expect(n).toBeGreaterThan(0);
}

/**
 * An indexer recomputing records that another transaction is changing at that moment (a worker's job while a sync
 * writes the same products) must compute from what that transaction commits, not from the state it saw before
 * waiting: otherwise it writes stale derived values back over fresh ones.
 */
describe('an indexer that has to wait for a writer', () => {
  it('search keywords are computed from the name the writer committed', async () => {
    const taxId = await createTax(t.app);
    const p = product(taxId, 1, { name: 'Before' });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    const writer = new pg.Client({ connectionString: t.url });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      // The writer changes the product (its row lock is what the indexer waits for) and its name (a translation).
      await writer.query(`UPDATE product SET stock = stock + 1 WHERE id = $1`, [toDbId(p.id as string)]);
      await writer.query(`UPDATE product_translation SET name = 'Afterwards' WHERE product_id = $1`, [toDbId(p.id as string)]);
      const search = t.indexers.get('product.search')!;
      const indexing = withTransaction(t.knex, (sql) => search.index(sql, [toDbId(p.id as string)]), { retries: 0 });
      await someoneWaits();
      await writer.query('COMMIT');
      await indexing;
    } finally {
      await writer.end();
    }
    const row = await t.knex.raw(`SELECT search_keywords::text AS kw FROM product_search WHERE product_id = ?`, [toDbId(p.id as string)]);
    expect(row.rows[0].kw).toContain('afterwards');
    expect(row.rows[0].kw).not.toContain('before');
  });

  it("a product's category tree is computed from the links the writer committed", async () => {
    const taxId = await createTax(t.app, 'Second');
    const [root, leaf] = [hexId(), hexId()];
    await sync(t.app, { c: { entity: 'category', action: 'upsert', payload: [{ id: root, name: 'Root' }, { id: leaf, parentId: root, name: 'Leaf' }] } }).expect(200);
    const p = product(taxId, 2);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    const writer = new pg.Client({ connectionString: t.url });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await writer.query(`UPDATE product SET stock = 5 WHERE id = $1`, [toDbId(p.id as string)]);
      await writer.query(`INSERT INTO product_category (product_id, category_id) VALUES ($1, $2)`, [toDbId(p.id as string), toDbId(leaf)]);
      const tree = t.indexers.get('product.category-tree')!;
      const indexing = withTransaction(t.knex, (sql) => tree.index(sql, [toDbId(p.id as string)]), { retries: 0 });
      await someoneWaits();
      await writer.query('COMMIT');
      await indexing;
    } finally {
      await writer.end();
    }
    const row = await storedRows(t, 'product').where({ id: toDbId(p.id as string) }).first();
    expect([...row.category_tree].sort()).toEqual([toDbId(root), toDbId(leaf)].sort());
  });
});
