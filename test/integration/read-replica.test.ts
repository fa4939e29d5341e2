import request from 'supertest';
import { hexId, product } from '../fixtures/catalog';
import { startTestApp, type TestApp } from '../support/app';
import { missingReplicaTool, startReplicaPair, type ReplicaPair } from '../support/replica-pair';
import { createTax, sync, storedRows } from '../support/sync';

/** A product written through the app, by its name. */
function upsertProduct(t: TestApp, taxId: string, name: string) {
  const record = product(taxId, Math.floor(Math.random() * 1e6), { name });
  return { id: record.id as string, res: sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [record] } }) };
}

const searchByName = (t: TestApp, name: string, headers: Record<string, string> = {}) =>
  request(t.app).post('/api/search/product').set(headers).send({ filter: [{ type: 'equals', field: 'name', value: name }] });

describe('read-from header without a replica', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('reads the primary either way, and refuses other values with HEADER_INVALID', async () => {
    const taxId = await createTax(t.app);
    const { id, res } = upsertProduct(t, taxId, 'Only one database');
    await res.expect(200);
    for (const from of ['primary', 'replica', 'PRIMARY']) {
      await request(t.app).get(`/api/product/${id}`).set('read-from', from).expect(200);
    }
    const bad = await searchByName(t, 'Only one database', { 'read-from': 'standby' }).expect(400);
    expect(bad.body.errors[0]).toMatchObject({ code: 'HEADER_INVALID', meta: { header: 'read-from' } });
    expect(bad.body.errors[0].detail).toMatch(/read-from must be "primary" or "replica"/);
    await request(t.app).get(`/api/product/${id}`).set('read-from', '').expect(400);
  });

  it('/ready says nothing of a replica when none is configured', async () => {
    const res = await request(t.bare).get('/ready').expect(200);
    expect(res.body).toEqual({ status: 'ok' });
  });
});

// Needs a primary and a replica of its own, made with the PostgreSQL 15 server tools; where they are absent, the
// reason is printed and these tests are left out (the ones above still run).
const missing = missingReplicaTool();
if (missing) {
  console.warn(`read-replica.test.ts: the tests "with a streaming replica" did not run: ${missing.what} is not available on this machine`);
} else {
  describe('with a streaming replica (DATABASE_READ_URL)', () => {
    let pair: ReplicaPair;
    let t: TestApp;
    let taxId: string;
    beforeAll(async () => {
      pair = await startReplicaPair();
      t = await startTestApp({}, { servers: { primary: pair.primary, replica: pair.replica } });
      taxId = await createTax(t.app);
      await pair.caughtUp();
    }, 120_000);
    afterAll(async () => {
      await t?.close();
      await pair?.stop();
    });

    it('a sync through the app becomes visible through GET and search once replicated', async () => {
      const { id, res } = upsertProduct(t, taxId, 'Replicated shirt');
      await res.expect(200);
      await pair.caughtUp();
      const got = await request(t.app).get(`/api/product/${id}`).expect(200);
      expect(got.body.data).toMatchObject({ id, name: 'Replicated shirt' });
      const found = await searchByName(t, 'Replicated shirt').expect(200);
      expect(found.body.data.map((r: { id: string }) => r.id)).toEqual([id]);
    });

    it('GET and search read the replica; writes, the change feed and read-from: primary use the primary', async () => {
      const cursor = (await request(t.app).get('/api/_action/changes?since=now').expect(200)).body.next as string;
      await pair.pauseReplay();
      try {
        // The replica is read-only: this sync can only have succeeded on the primary.
        const { id, res } = upsertProduct(t, taxId, 'Written while replay is paused');
        await res.expect(200);
        expect(await storedRows(t, 'product').where({ id }).first()).toMatchObject({ name: 'Written while replay is paused' });

        // Replay is held: the replica does not have the row, so reads that show it would have gone elsewhere.
        await request(t.app).get(`/api/product/${id}`).expect(404);
        const missed = await searchByName(t, 'Written while replay is paused').expect(200);
        expect(missed.body.data).toEqual([]);
        const counted = await request(t.app).post('/api/search/product').send({ 'total-count-mode': 'exact', limit: 1 }).expect(200);
        const { rows } = await t.knex.raw<{ rows: { n: number }[] }>('SELECT count(*)::int AS n FROM product');
        expect(counted.body.total).toBe(rows[0]!.n - 1);

        // The feed reads the primary: it already lists the product.
        const feed = await request(t.app).get(`/api/_action/changes?since=${encodeURIComponent(cursor)}&entity=product`).expect(200);
        expect(feed.body.data.map((e: { id: string }) => e.id)).toContain(id);

        // read-from: primary sees it at once, for GET and search.
        const own = await request(t.app).get(`/api/product/${id}`).set('read-from', 'primary').expect(200);
        expect(own.body.data.name).toBe('Written while replay is paused');
        const ownSearch = await searchByName(t, 'Written while replay is paused', { 'read-from': 'primary' }).expect(200);
        expect(ownSearch.body.data.map((r: { id: string }) => r.id)).toEqual([id]);

        await pair.resumeReplay();
        await pair.caughtUp();
        const after = await request(t.app).get(`/api/product/${id}`).expect(200);
        expect(after.body.data.name).toBe('Written while replay is paused');
      } finally {
        await pair.resumeReplay();
      }
    });

    it('/ready needs the replica too; with it down, writes, the feed and read-from: primary still work', async () => {
      const ready = await request(t.bare).get('/ready').expect(200);
      expect(ready.body).toEqual({ status: 'ok', replica: 'ok' });

      await pair.stopReplica();
      const down = await request(t.bare).get('/ready').expect(503);
      expect(down.body).toEqual({ status: 'read replica unavailable', replica: 'unavailable' });

      const { id, res } = upsertProduct(t, taxId, 'Written with the replica down');
      await res.expect(200);
      await request(t.app).get(`/api/product/${id}`).set('read-from', 'primary').expect(200);
      await request(t.app).get('/api/_action/changes?since=now').expect(200);
      // The replica's own reads fail while it is down; they are not silently sent to the primary.
      const failed = await request(t.app).get(`/api/product/${hexId()}`);
      expect(failed.status).toBe(503);
      expect(failed.headers['retry-after']).toBe('5');
      expect(failed.body.errors[0]).toEqual(expect.objectContaining({ status: '503', code: 'DATABASE_UNAVAILABLE' }));
    });
  });
}
