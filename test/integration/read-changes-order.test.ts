import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { hexId } from '../fixtures/catalog';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('change feed order', () => {
  it('pages in numeric transaction order across a change in the number of digits (999 → 1000)', async () => {
    // Transaction ids gain a digit as a server ages; ordering them as text put "1003" before "784" and made the
    // cursor skip every smaller id. Entries with such ids are written directly (all long settled for the horizon).
    const ids = [hexId(), hexId(), hexId(), hexId()];
    await t.knex.raw(
      `INSERT INTO change_log (xid, entity, key, op) OVERRIDING SYSTEM VALUE
       SELECT x::text::xid8, 'tax', jsonb_build_object('id', id::uuid), 'upsert' FROM unnest(?::bigint[], ?::text[]) AS u(x, id)`,
      [[999, 1000, 99, 10000], ids],
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
