import { startTestApp, type TestApp } from '../support/app';
import { derivedSnapshot, OverlapLoad, reindexedSnapshot, snapshotDiff } from '../support/overlap-load';
import { scale } from '../support/reliability';
import { createTax, sync } from '../support/sync';

/**
 * 8 clients at once, each its own stream of syncs with overlapping keys, indexing inline (the default): every answer
 * must be 200; nothing written may be lost or doubled; every derived field must equal what a full re-index computes.
 */

const CLIENTS = 8;
const ROUNDS = scale(8, 80);
jest.setTimeout(scale(120_000, 900_000));

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' });
});
afterAll(() => t.close());

describe(`${CLIENTS} concurrent clients with overlapping keys and inline indexing`, () => {
  it('answer 200 every time, lose and double nothing, and leave derived data as a full re-index would', async () => {
    const load = new OverlapLoad();
    for (const body of load.seedBodies(await createTax(t.app))) await sync(t.app, body).expect(200);
    await load.run(CLIENTS, ROUNDS, async (body) => sync(t.app, body));
    expect(load.failures).toEqual([]);
    expect(load.requests).toBe(CLIENTS * ROUNDS);
    expect(await load.lostOrDoubled(t.knex)).toEqual([]);
    expect(snapshotDiff(await derivedSnapshot(t.knex), await reindexedSnapshot(t.knex, t.indexers))).toEqual([]);
  });
});
