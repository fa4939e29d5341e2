import { toDbId as dashed } from '../../src/definitions/ids';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { until } from '../support/poll';
import { ROOT, startTestApp, type TestApp } from '../support/app';
import { createTax, productRows, sync } from '../support/sync';
import { product } from '../fixtures/catalog';

let t: TestApp;
let child: ChildProcess | undefined;
beforeAll(async () => {
  t = await startTestApp({ WORKER_HEARTBEAT_SECONDS: '1' });
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await t.close();
});

describe('a worker killed in the middle of a batch', () => {
  it('leaves its job to the next worker, which completes it', async () => {
    const taxId = await createTax(t.app);
    const p = product(taxId, 1, { name: 'Survivor' });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }, { 'indexing-behavior': 'use-queue-indexing', 'indexing-skip': 'product.category-tree' }).expect(200);

    // Hold the product's row so that the worker's index statement has to wait: it is then mid-batch for sure.
    const blocker = new pg.Client({ connectionString: t.url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('SELECT id FROM product WHERE id = $1 FOR UPDATE', [dashed(p.id as string)]);

    child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/worker.ts')], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: t.url,
        SCHEMAS_DIR: path.join(ROOT, 'schemas'),
        MIGRATIONS_DIR: path.join(ROOT, 'migrations'),
        WORKER_HEARTBEAT_SECONDS: '1',
        LOG_LEVEL: 'error',
      },
      stdio: 'ignore',
    });
    const waiting = await until(
      async () => (await t.knex.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0].n,
      (n: number) => n > 0,
    );
    expect(waiting).toBeGreaterThan(0);
    const locked = await t.knex.raw(`SELECT locked_by FROM graphile_worker.jobs WHERE queue_name = 'bulksync:product.search' AND locked_at IS NOT NULL`);
    expect(locked.rows).toHaveLength(1);

    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    await blocker.query('ROLLBACK');
    await blocker.end();
    expect((await productRows(t).where({ id: dashed(p.id as string) }).first()).search_keywords).toBeNull();

    // A new worker notices the silent one, releases its job and does the work.
    await t.startWorker();
    const row = await until(() => productRows(t).where({ id: dashed(p.id as string) }).first(), (r) => r.search_keywords !== null);
    expect(String(row.search_keywords)).toContain('survivor');
    // The job ends (and is removed) once it has found nothing more to drain, a moment after the batch committed.
    const left = await until(
      async () => (await t.knex.raw(`SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE queue_name = 'bulksync:product.search'`)).rows[0].n,
      (n: number) => n === 0,
    );
    expect(left).toBe(0);
    expect(await t.knex('bulksync_index_pending').where({ indexer: 'product.search' })).toEqual([]);
  });
});
