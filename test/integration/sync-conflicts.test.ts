import request from 'supertest';
import pg from 'pg';
import { toDbId } from '../../src/definitions/ids';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/poll';
import { createTax, sync, storedRows } from '../support/sync';
import { product } from '../fixtures/catalog';

/**
 * A deadlock made on purpose: another connection holds product B, the request locks product A and waits for B,
 * then the other connection asks for A. PostgreSQL aborts the request's transaction (the other connection is told
 * to wait 10 s before it looks for deadlocks, so the request is the one that finds it).
 */
async function deadlockOnce(t: TestApp, retriesLeft: boolean): Promise<{ res: request.Response; ids: string[] }> {
  const taxId = await createTax(t.app, `Conflict ${Math.random()}`);
  // Stocks 10 and 20 to begin with; the request sets 1 and 2.
  const [a, b] = [product(taxId, 8010 + 100 * Math.floor(Math.random() * 10)), product(taxId, 9020 + 100 * Math.floor(Math.random() * 10))];
  const ids = [a.id as string, b.id as string];
  await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [a, b] } }).expect(200);
  const other = new pg.Client({ connectionString: t.url });
  await other.connect();
  try {
    await other.query(`SET deadlock_timeout = '10s'`);
    await other.query('BEGIN');
    await other.query('SELECT 1 FROM product WHERE id = $1 FOR UPDATE', [toDbId(b.id as string)]);
    const answer = sync(t.app, {
      first: { entity: 'product', action: 'upsert', payload: [{ id: a.id, stock: 1 }] },
      second: { entity: 'product', action: 'upsert', payload: [{ id: b.id, stock: 2 }] },
    }).then((r) => r);
    await until(
      async () => (await other.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0].n,
      (n: number) => n > 0,
    );
    const asking = other.query('SELECT 1 FROM product WHERE id = $1 FOR UPDATE', [toDbId(a.id as string)]);
    // Without retries left, the other connection gets A once the request rolled back; with retries, the request's
    // re-run waits for B until the other connection commits.
    if (retriesLeft) {
      await asking;
      await other.query('COMMIT');
      return { res: await answer, ids };
    }
    const res = await answer;
    await asking;
    await other.query('COMMIT');
    return { res, ids };
  } finally {
    await other.end();
  }
}

async function stocksOf(t: TestApp, ids: string[]): Promise<number[]> {
  const rows = await storedRows(t, 'product').whereIn('id', ids.map(toDbId)).select('id', 'stock');
  return ids.map((id) => rows.find((r) => r.id === toDbId(id))!.stock);
}

describe('a transaction that loses to concurrent writes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_MAX_RETRIES: '0' });
  });
  afterAll(() => t.close());

  it('answers 503 CONFLICT_RETRY_EXHAUSTED with Retry-After once its retries are spent, and writes nothing', async () => {
    const { res, ids } = await deadlockOnce(t, false);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.body.errors).toEqual([expect.objectContaining({ status: '503', code: 'CONFLICT_RETRY_EXHAUSTED', source: { pointer: '' } })]);
    expect(JSON.stringify(res.body)).not.toMatch(/deadlock detected|SELECT|at .*\.ts/);
    // Neither stock was written.
    expect(await stocksOf(t, ids)).toEqual([10, 20]);
  });
});

describe('a deadlock with retries left', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SYNC_MAX_RETRIES: '3' });
  });
  afterAll(() => t.close());

  it('is run again and answers 200; the retry is counted in /metrics', async () => {
    const { res, ids } = await deadlockOnce(t, true);
    expect(res.status).toBe(200);
    expect(await stocksOf(t, ids)).toEqual([1, 2]);
    const metrics = await request(t.app).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/bulksync_sync_retries_total\{reason="deadlock"\} [1-9]/);
  });
});
