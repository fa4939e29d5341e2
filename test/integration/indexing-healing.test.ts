import type { IndexerStatus } from '../../src/indexing/sql/status';
import request from 'supertest';
import pg from 'pg';
import { toDbId as dashed, toApiId as hex } from '../../src/definitions/ids';
import { until } from '../support/poll';
import { startTestApp, type TestApp } from '../support/app';
import { derivedSnapshot, reindexedSnapshot, snapshotDiff } from '../support/overlap-load';
import { startServer, type ServerProcess } from '../support/reliability';
import { count, createTax, productRows, sync, storedRows } from '../support/sync';
import { hexId, product } from '../fixtures/catalog';

const QUEUE = { 'indexing-behavior': 'use-queue-indexing' };

let t: TestApp;
let worker: ServerProcess | undefined;
let taxId: string;
const [root, mid, leaf] = [hexId(), hexId(), hexId()];

beforeAll(async () => {
  t = await startTestApp({ INDEXING_MAX_ATTEMPTS: '2', WORKER_HEARTBEAT_SECONDS: '1' });
  taxId = await createTax(t.app);
  await sync(t.app, {
    c: { entity: 'category', action: 'upsert', payload: [{ id: root, name: 'Root' }, { id: mid, name: 'Mid', parentId: root }, { id: leaf, name: 'Leaf', parentId: mid }] },
  }).expect(200);
});
afterAll(async () => {
  await worker?.kill();
  await t.close();
});

async function statusOf(indexer: string) {
  return (await request(t.app).get('/api/_action/indexing/status').expect(200)).body.data.find((s: { indexer: string }) => s.indexer === indexer);
}

async function jobsByQueue(): Promise<Record<string, number>> {
  const r = await t.knex.raw(`SELECT queue_name, count(*)::int AS n FROM graphile_worker.jobs GROUP BY queue_name`);
  return Object.fromEntries(r.rows.map((x: { queue_name: string; n: number }) => [x.queue_name, x.n]));
}

async function deadJobs(): Promise<{ last_error: string | null }[]> {
  return (await t.knex.raw(`SELECT last_error FROM graphile_worker.jobs WHERE attempts >= max_attempts`)).rows;
}

/** Everything drained: no id pending, no job waiting or running. */
async function drained(): Promise<boolean> {
  const pending = await count(t.knex, 'bulksync_index_pending');
  const jobs = await t.knex.raw(`SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE attempts < max_attempts`);
  return pending === 0 && jobs.rows[0].n === 0;
}

describe('queued indexing under a busy import', () => {
  it('keeps one waiting job per indexer however many requests queue ids, and every id in the pending list', async () => {
    const written: string[] = [];
    for (let i = 0; i < 30; i++) {
      const p = product(taxId, 1000 + i, { categories: [{ id: leaf }] });
      written.push(p.id as string);
      const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }, QUEUE).expect(200);
      expect(res.headers['x-indexing']).toMatch(/^queued [1-9]/);
    }
    const jobs = await jobsByQueue();
    expect(jobs).toMatchObject({ 'bulksync:product.category-tree': 1, 'bulksync:product.search': 1 });
    expect(Math.max(...Object.values(jobs))).toBe(1);
    const pending = await t.knex('bulksync_index_pending').where({ indexer: 'product.search' }).pluck('id');
    expect(pending.map(hex).sort()).toEqual([...written].sort());
    expect(await statusOf('product.search')).toMatchObject({ pending: 30, queued: 1, dead: 0, deadLettered: 0 });
  });
});

describe('a sync that queues ids while a worker runs the indexer\'s job, then that worker killed', () => {
  it('leaves no job dead and no id lost: after a new worker drains, every derived field equals a full re-index', async () => {
    const first = product(taxId, 1, { name: 'Held', categories: [{ id: leaf }] });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [first] } }, QUEUE).expect(200);

    // Hold a product's row so that the worker's index statement has to wait: it is then mid-job for sure.
    const blocker = new pg.Client({ connectionString: t.url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('SELECT id FROM product WHERE id = $1 FOR UPDATE', [dashed(first.id as string)]);
    worker = await startServer({ url: t.url, tokenSecret: t.config.BULKSYNC_TOKEN_SECRET!, entry: 'worker', env: { WORKER_HEARTBEAT_SECONDS: '1', INDEXING_MAX_ATTEMPTS: '2' } });
    const waiting = await until(
      async () => (await t.knex.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0].n,
      (n: number) => n > 0,
    );
    expect(waiting).toBeGreaterThan(0);

    // While the job runs: new products, a renamed and a moved category (every indexer gets ids).
    const later = Array.from({ length: 40 }, (_, i) => product(taxId, 2000 + i, { name: `Later ${i}`, categories: [{ id: i % 2 ? leaf : mid }] }));
    await sync(t.app, {
      p: { entity: 'product', action: 'upsert', payload: later },
      c: { entity: 'category', action: 'upsert', payload: [{ id: mid, name: 'Middle' }, { id: leaf, parentId: root }] },
    }, QUEUE).expect(200);
    // The running jobs are untouched: still live, still locked (graphile-worker's job_key replacement made them dead).
    const running = await t.knex.raw(`SELECT attempts, max_attempts, locked_at IS NOT NULL AS locked FROM graphile_worker.jobs WHERE locked_at IS NOT NULL`);
    expect(running.rows.length).toBeGreaterThan(0);
    for (const j of running.rows) expect(j.attempts).toBeLessThan(j.max_attempts);

    await worker.kill('SIGKILL');
    await blocker.query('ROLLBACK');
    await blocker.end();
    expect(await count(t.knex, 'bulksync_index_pending')).toBeGreaterThan(0);

    // A new worker notices the silent one, releases its jobs and drains everything.
    await t.startWorker();
    expect(await until(drained, (d) => d, 30)).toBe(true);
    expect(await deadJobs()).toEqual([]);
    for (const name of t.indexers.names()) expect(await statusOf(name)).toMatchObject({ pending: 0, dead: 0, deadLettered: 0, running: 0, queued: 0 });
    expect(snapshotDiff(await derivedSnapshot(t.knex), await reindexedSnapshot(t.knex, t.indexers))).toEqual([]);
    const moved = await storedRows(t, 'category').where({ id: dashed(leaf) }).first();
    expect(moved.breadcrumb).toEqual(['Root', 'Leaf']);
  });
});

describe('a record that cannot be indexed', () => {
  it('is isolated from the other ids of its batch and stays dead with its error until a new write repairs it', async () => {
    await t.knex.raw(`
      CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF (SELECT product_number FROM product WHERE id = NEW.product_id) = 'POISON' THEN
          RAISE EXCEPTION 'poisoned record %', NEW.product_id;
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER poison BEFORE INSERT OR UPDATE ON product_search FOR EACH ROW EXECUTE FUNCTION poison();`);
    const batch = Array.from({ length: 30 }, (_, i) => product(taxId, 3000 + i, { name: `Healthy ${i}` }));
    const bad = product(taxId, 0, { productNumber: 'POISON', name: 'Bad' });
    batch.splice(13, 0, bad);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: batch } }, { ...QUEUE, 'indexing-skip': 'product.category-tree' }).expect(200);

    const status = await until(
      async () => {
        await t.knex.raw(`UPDATE bulksync_index_pending SET not_before = now() WHERE dead_at IS NULL AND attempts > 0`);
        return statusOf('product.search');
      },
      (s: IndexerStatus) => s.dead === 1,
      30,
    );
    expect(status).toMatchObject({ dead: 1, pending: 0, deadLettered: 0 });
    expect(status.deadIds).toEqual([{ id: bad.id, attempts: 2, error: expect.stringContaining('poisoned record'), failedAt: expect.any(String) }]);
    const healthy = await productRows(t).whereIn('id', batch.filter((p) => p !== bad).map((p) => dashed(p.id as string))).whereNotNull('search_keywords');
    expect(healthy).toHaveLength(30);
    expect(await deadJobs()).toEqual([]);
    const metrics = await request(t.bare).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/bulksync_indexing_ids\{state="dead"\} 1\n/);

    // Repaired, then written again: the new write gives the dead id a fresh start.
    await t.knex.raw('DROP TRIGGER poison ON product_search; DROP FUNCTION poison()');
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: bad.id, name: 'Good now' }] } }, QUEUE).expect(200);
    expect(await until(drained, (d) => d, 30)).toBe(true);
    expect(String((await productRows(t).where({ id: dashed(bad.id as string) }).first()).search_keywords)).toContain('good');
    expect(await statusOf('product.search')).toMatchObject({ dead: 0, deadIds: [] });
  });
});

describe('a job queued by the previous version (ids in its payload)', () => {
  it('is still worked: its ids join the pending list and are indexed', async () => {
    const p = product(taxId, 4000, { name: 'Legacy job' });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }, { 'indexing-behavior': 'disable-indexing' }).expect(200);
    await t.knex.raw(`SELECT graphile_worker.add_job('bulksync_index', ?::json, queue_name => 'bulksync:product.search', job_key => 'bulksync:index:product.search')`, [
      JSON.stringify([{ indexer: 'product.search', ids: [dashed(p.id as string)] }]),
    ]);
    const row = await until(() => productRows(t).where({ id: dashed(p.id as string) }).first(), (r) => r.search_keywords !== null);
    expect(String(row.search_keywords)).toContain('legacy');
    expect(await until(drained, (d) => d, 30)).toBe(true);
  });
});
