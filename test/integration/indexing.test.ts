import type { IndexerStatus } from '../../src/indexing/sql/status';
import { toDbId as dashed, toApiId as hex } from '../../src/definitions/ids';
import request from 'supertest';
import { until } from '../support/poll';
import { startTestApp, type TestApp } from '../support/app';
import { count, createTax, productRows, sync, storedRows } from '../support/sync';
import { hexId, product } from '../fixtures/catalog';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ INDEXING_MAX_ATTEMPTS: '2', WORKER_HEARTBEAT_SECONDS: '1' });
});
afterAll(() => t.close());

async function category(id: string) {
  const row = await storedRows(t, 'category').where({ id: dashed(id) }).first();
  return { path: (row.path ?? []).map(hex), level: row.level, breadcrumb: row.breadcrumb, childCount: row.child_count };
}

async function productRow(id: string) {
  return productRows(t).where({ id: dashed(id) }).first();
}

async function jobCount(): Promise<number> {
  const r = await t.knex.raw(`SELECT count(*)::int AS n FROM graphile_worker.jobs`);
  return r.rows[0].n;
}

describe('inline indexing (default)', () => {
  it('derives category paths, levels, breadcrumbs and child counts, and product search keywords and category trees', async () => {
    const [root, mid, leaf] = [hexId(), hexId(), hexId()];
    const taxId = await createTax(t.app);
    const p = product(taxId, 1, { name: 'Linen shirt', ean: '4006381333931', manufacturer: { name: 'Blue Works' }, categories: [{ id: leaf }] });
    const res = await sync(t.app, {
      c: { entity: 'category', action: 'upsert', payload: [{ id: root, name: 'Clothing' }, { id: mid, name: 'Shirts', parentId: root }, { id: leaf, name: 'Linen', parentId: mid }] },
      p: { entity: 'product', action: 'upsert', payload: [p] },
    }).expect(200);
    expect(res.headers['x-indexing']).toBe('inline');
    expect(await category(leaf)).toEqual({ path: [root, mid], level: 3, breadcrumb: ['Clothing', 'Shirts', 'Linen'], childCount: 0 });
    expect(await category(root)).toMatchObject({ path: [], level: 1, breadcrumb: ['Clothing'], childCount: 1 });
    const row = await productRow(p.id as string);
    expect(row.category_tree.map(hex).sort()).toEqual([root, mid, leaf].sort());
    const hits = await productRows(t).whereRaw(`search_keywords @@ plainto_tsquery('simple', ?)`, ['blue works linen']).pluck('id');
    expect(hits.map(hex)).toEqual([p.id]);
  });

  it('moving a category re-indexes its subtree, both parents\' child counts and the products below it', async () => {
    const [a, b, moving, child] = [hexId(), hexId(), hexId(), hexId()];
    const taxId = await createTax(t.app);
    const p = product(taxId, 2, { categories: [{ id: child }] });
    await sync(t.app, {
      c: { entity: 'category', action: 'upsert', payload: [{ id: a, name: 'A' }, { id: b, name: 'B' }, { id: moving, name: 'M', parentId: a }, { id: child, name: 'C', parentId: moving }] },
      p: { entity: 'product', action: 'upsert', payload: [p] },
    }).expect(200);
    expect((await category(a)).childCount).toBe(1);
    await sync(t.app, { move: { entity: 'category', action: 'upsert', payload: [{ id: moving, parentId: b }] } }).expect(200);
    expect(await category(child)).toMatchObject({ path: [b, moving], level: 3, breadcrumb: ['B', 'M', 'C'] });
    expect((await category(a)).childCount).toBe(0);
    expect((await category(b)).childCount).toBe(1);
    expect((await productRow(p.id as string)).category_tree.map(hex).sort()).toEqual([b, moving, child].sort());
  });

  it('renaming a manufacturer re-indexes its products\' search keywords; deleting it too', async () => {
    const taxId = await createTax(t.app);
    const m = hexId();
    const p = product(taxId, 3, { manufacturer: { id: m, name: 'Oldname' } });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    await sync(t.app, { m: { entity: 'product_manufacturer', action: 'upsert', payload: [{ id: m, name: 'Newname' }] } }).expect(200);
    const kw = async () => String((await productRow(p.id as string)).search_keywords);
    expect(await kw()).toContain('newname');
    expect(await kw()).not.toContain('oldname');
    await sync(t.app, { d: { entity: 'product_manufacturer', action: 'delete', payload: [{ id: m }] } }).expect(200);
    expect(await kw()).not.toContain('newname');
  });

  it('keeps the search vector in product_search: written when the text changes, untouched by other writes, deleted with the product', async () => {
    const taxId = await createTax(t.app);
    const p = product(taxId, 6, { name: 'Vector home' });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    // The row version of the vector (xmin): a new one is written only when the vector changes.
    const version = async () => (await t.knex.raw(`SELECT xmin::text AS v, search_keywords::text AS kw FROM product_search WHERE product_id = ?`, [dashed(p.id as string)])).rows[0];
    const first = await version();
    expect(first.kw).toContain('vector');
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: p.id, stock: 77 }] } }).expect(200);
    expect(await version()).toEqual(first);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: p.id, name: 'Renamed thing' }] } }).expect(200);
    const renamed = await version();
    expect(renamed.v).not.toBe(first.v);
    expect(renamed.kw).toContain('renamed');
    expect(renamed.kw).not.toContain('vector');
    await sync(t.app, { d: { entity: 'product', action: 'delete', payload: [{ id: p.id }] } }).expect(200);
    expect(await version()).toBeUndefined();
  });

  it('a product whose words are not indexed yet matches no term, and inside not it counts as not holding the words', async () => {
    const taxId = await createTax(t.app);
    const p = product(taxId, 8, { name: 'Unsearched thing' });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }, { 'indexing-behavior': 'disable-indexing' }).expect(200);
    const found = async (filter: unknown[]) =>
      (await request(t.app).post('/api/search/product').send({ filter: [{ type: 'equals', field: 'id', value: p.id }, ...filter] }).expect(200)).body.data.map((r: { id: string }) => r.id);
    expect(await found([{ type: 'term', value: 'unsearched' }])).toEqual([]);
    expect(await found([{ type: 'not', queries: [{ type: 'term', value: 'unsearched' }] }])).toEqual([p.id]);
  });

  it('unlinking a category updates the product\'s category tree', async () => {
    const taxId = await createTax(t.app);
    const c = hexId();
    const p = product(taxId, 4, { categories: [{ id: c, name: 'Temp' }] });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    expect((await productRow(p.id as string)).category_tree.map(hex)).toEqual([c]);
    await sync(t.app, { d: { entity: 'product_category', action: 'delete', payload: [{ productId: p.id, categoryId: c }] } }).expect(200);
    // Linked to nothing: no tree (null), as Shopware answers.
    expect((await productRow(p.id as string)).category_tree).toBeNull();
  });


  it('indexing-skip leaves the named indexers out', async () => {
    const taxId = await createTax(t.app);
    const c = hexId();
    const p = product(taxId, 5, { categories: [{ id: c, name: 'Skipped search' }] });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }, { 'indexing-skip': 'product.search' }).expect(200);
    const row = await productRow(p.id as string);
    expect(row.search_keywords).toBeNull();
    expect(row.category_tree.map(hex)).toEqual([c]);
  });

  it('refuses unknown header values', async () => {
    const a = await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [] } }, { 'indexing-behavior': 'later' }).expect(400);
    expect(a.body.errors[0].code).toBe('HEADER_INVALID');
    const b = await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [] } }, { 'indexing-skip': 'product.nope' }).expect(400);
    expect(b.body.errors[0].detail).toContain('product.nope');
  });
});

describe('queued indexing', () => {
  it('commits the data with its jobs; derived fields stay stale until a worker runs', async () => {
    const taxId = await createTax(t.app);
    const c = hexId();
    const p = product(taxId, 10, { name: 'Queued thing', categories: [{ id: c, name: 'Queued category' }] });
    const before = await jobCount();
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }, { 'indexing-behavior': 'use-queue-indexing' }).expect(200);
    // category.tree (the new category), product.category-tree (the link), product.search (the product).
    expect(res.headers['x-indexing']).toBe('queued 3');
    expect(await jobCount()).toBe(before + 3);
    expect((await productRow(p.id as string)).search_keywords).toBeNull();
    await t.startWorker();
    const row = await until(() => productRow(p.id as string), (r) => r.search_keywords !== null && r.category_tree !== null);
    expect(String(row.search_keywords)).toContain('queued');
    expect(row.category_tree.map(hex)).toEqual([c]);
    const status = await until(
      async () => (await request(t.app).get('/api/_action/indexing/status').expect(200)).body.data,
      (d: { indexer: string; queued: number; running: number; lastCompletedAt: string | null }[]) =>
        d.filter((s) => s.indexer.startsWith('product.')).every((s) => s.queued === 0 && s.running === 0 && s.lastCompletedAt),
    );
    expect(status.find((s: { indexer: string }) => s.indexer === 'product.search')).toMatchObject({ queued: 0, deadLettered: 0 });
  });

  it('a product without categories gives the category-tree indexer nothing to do, and has no tree', async () => {
    // The worker started above runs what this queues.
    const taxId = await createTax(t.app);
    const p = product(taxId, 7, { name: 'Treeless' });
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }, { 'indexing-behavior': 'use-queue-indexing' }).expect(200);
    // product.search only: the tree depends on the product's links and their categories, not on its own fields.
    expect(res.headers['x-indexing']).toBe('queued 1');
    expect(String((await until(() => productRow(p.id as string), (r) => r.search_keywords !== null)).search_keywords)).toContain('treeless');
    const read = await request(t.app).get(`/api/product/${p.id}`).expect(200);
    expect(read.body.data.categoryTree).toBeNull();
  });

  it('a sync that fails leaves no job behind', async () => {
    const before = await jobCount();
    await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [{ name: 'x', taxRate: 'bad' }] } }, { 'indexing-behavior': 'use-queue-indexing' }).expect(400);
    const res = await sync(
      t.app,
      {
        m: { entity: 'product_manufacturer', action: 'upsert', payload: [{ name: 'written, then rolled back' }] },
        p: { entity: 'product', action: 'upsert', payload: [product(hexId(), 11)] },
      },
      { 'indexing-behavior': 'use-queue-indexing' },
    ).expect(400);
    expect(res.body.errors[0].code).toBe('FK_NOT_FOUND');
    expect(await jobCount()).toBe(before);
    expect(await storedRows(t, 'product_manufacturer').where({ name: 'written, then rolled back' })).toHaveLength(0);
  });

  it('disable-indexing indexes nothing; a full re-index repairs everything', async () => {
    const taxId = await createTax(t.app);
    const c = hexId();
    const p = product(taxId, 12, { name: 'Unindexed', categories: [{ id: c, name: 'Late' }] });
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }, { 'indexing-behavior': 'disable-indexing' }).expect(200);
    expect(res.headers['x-indexing']).toBe('disabled');
    expect((await productRow(p.id as string)).search_keywords).toBeNull();
    expect((await category(c)).level).toBeNull();
    const queued = await request(t.app).post('/api/_action/index').set('content-type', 'application/json').send({}).expect(202);
    expect(queued.body.data.queued).toEqual(t.indexers.names());
    const row = await until(() => productRow(p.id as string), (r) => r.search_keywords !== null && r.category_tree !== null);
    expect(String(row.search_keywords)).toContain('unindexed');
    expect(row.category_tree.map(hex)).toEqual([c]);
    expect(await until(() => category(c), (x) => x.level !== null)).toMatchObject({ level: 1, breadcrumb: ['Late'] });
  });

  it('refuses an unknown indexer in a re-index request', async () => {
    const res = await request(t.app).post('/api/_action/index').set('content-type', 'application/json').send({ indexers: ['nope'] }).expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'VALUE_INVALID', source: { pointer: '/indexers/0' } });
  });

  it('an id that keeps failing is retried, then dead with its error; the status shows it and the retry action re-runs it', async () => {
    const taxId = await createTax(t.app);
    const p = product(taxId, 13);
    const statusOf = async () =>
      (await request(t.app).get('/api/_action/indexing/status').expect(200)).body.data.find((s: { indexer: string }) => s.indexer === 'product.search');
    // Break the indexer's target for a moment: its write fails like a real fault would.
    await t.knex.raw('ALTER TABLE product_search RENAME COLUMN search_keywords TO search_keywords_gone');
    try {
      await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }, { 'indexing-behavior': 'use-queue-indexing', 'indexing-skip': 'product.category-tree' }).expect(200);
      // Failed ids back off exponentially; move their next attempt forward instead of waiting for it.
      const status = await until(
        async () => {
          await t.knex.raw(`UPDATE bulksync_index_pending SET not_before = now() WHERE dead_at IS NULL AND attempts > 0`);
          return statusOf();
        },
        (s: IndexerStatus) => s.dead === 1,
        30,
      );
      expect(status).toMatchObject({ dead: 1, pending: 0, deadLettered: 0 });
      expect(status.deadIds).toEqual([{ id: p.id, attempts: 2, error: expect.stringMatching(/search_keywords/), failedAt: expect.any(String) }]);
      expect(status.lastError).toMatch(/search_keywords/);
      // The job itself did its work: it is not dead, and no job is left dead with a null error.
      const deadJobs = await t.knex.raw(`SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE attempts >= max_attempts`);
      expect(deadJobs.rows[0].n).toBe(0);
    } finally {
      await t.knex.raw('ALTER TABLE product_search RENAME COLUMN search_keywords_gone TO search_keywords');
    }
    const retried = await request(t.app).post('/api/_action/indexing/retry').set('content-type', 'application/json').send({ indexers: ['product.search'] }).expect(202);
    expect(retried.body.data).toEqual({ indexers: ['product.search'], ids: 1, jobs: 0 });
    const row = await until(() => productRow(p.id as string), (r) => r.search_keywords !== null);
    expect(row.search_keywords).not.toBeNull();
    expect(await until(statusOf, (s: { dead: number; pending: number }) => s.dead === 0 && s.pending === 0)).toMatchObject({ dead: 0, pending: 0, deadIds: [] });
    expect(await count(t.knex, 'bulksync_index_pending')).toBe(0);
  });

  it('the retry action refuses an unknown indexer', async () => {
    const res = await request(t.app).post('/api/_action/indexing/retry').set('content-type', 'application/json').send({ indexers: ['nope'] }).expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'VALUE_INVALID', source: { pointer: '/indexers/0' } });
  });
});
