import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { hexId } from '../fixtures/catalog';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('change feed order', () => {
  it('pages in numeric transaction order across a change in the number of digits (…99 → …00)', async () => {
    // Transaction ids gain a digit as a server ages; ordering them as text put "1003" before "784" and made the
    // cursor skip every smaller id. Entries with such ids are written directly (all long settled for the horizon).
    // Below the server's horizon, so that the feed hands them out: the largest power of ten under it, and its
    // neighbours with one digit fewer.
    const horizon = Number((await t.knex.raw('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS h')).rows[0].h);
    const tens = 10 ** Math.floor(Math.log10(horizon - 2));
    const ids = [hexId(), hexId(), hexId(), hexId()];
    await t.knex.raw(
      `INSERT INTO change_log (xid, entity, key, op) OVERRIDING SYSTEM VALUE
       SELECT x::text::xid8, 'tax', jsonb_build_object('id', id::uuid), 'upsert' FROM unnest(?::bigint[], ?::text[]) AS u(x, id)`,
      [[tens - 1, tens, Math.floor(tens / 10) - 1, tens + 1], ids],
    );
    const seen: string[] = [];
    let since: string | undefined;
    for (let page = 0; page < 10; page++) {
      const res = await request(t.app)
        .get(`/api/_action/changes?entity=tax&limit=1${since ? `&since=${encodeURIComponent(since)}` : ''}`)
        .expect(200);
      seen.push(...res.body.data.map((c: { id: string }) => c.id));
      if (!res.body.data.length) break;
      since = res.body.next;
    }
    expect(seen).toEqual([ids[2], ids[0], ids[1], ids[3]]);
  });
});

describe('change feed pages', () => {
  it('hands out the same entries whatever the page size (a record written twice by a transaction, once)', async () => {
    const since = (await request(t.app).get('/api/_action/changes?since=now').expect(200)).body.next;
    for (let r = 0; r < 3; r++) {
      // Nested categories are written, then rewritten by the category indexer in the same transaction.
      const payload = Array.from({ length: 5 }, (_, i) => ({ name: `p${r}-${i}`, children: [{ name: `c${r}-${i}` }] }));
      await request(t.app).post('/api/_action/sync').send({ c: { entity: 'category', action: 'upsert', payload } }).expect(200);
    }
    const read = async (limit: number) => {
      const out: string[] = [];
      let cursor = since;
      for (let page = 0; page < 200; page++) {
        const res = await request(t.app).get(`/api/_action/changes?limit=${limit}&since=${encodeURIComponent(cursor)}`).expect(200);
        out.push(...res.body.data.map((c: { entity: string; id: unknown }) => `${c.entity}:${JSON.stringify(c.id)}`));
        if (res.body.data.length < limit) break;
        cursor = res.body.next;
      }
      return out;
    };
    let big = await read(10000);
    // 30 categories and their 30 translation rows.
    for (let i = 0; i < 100 && big.length < 60; i++) {
      await new Promise((r) => setTimeout(r, 200));
      big = await read(10000);
    }
    expect(big).toHaveLength(60);
    expect(new Set(big).size).toBe(60);
    expect(await read(3)).toEqual(big);
  });
});
