import { startTestApp, type TestApp } from '../support/app';
import { derivedSnapshot, OverlapLoad, reindexedSnapshot, snapshotDiff } from '../support/overlap-load';
import { until } from '../support/poll';
import { scale, startServer, type ServerProcess } from '../support/reliability';
import { createTestDatabase } from '../support/database';
import { createTax, sync } from '../support/sync';

/**
 * Two API processes and two worker processes on one database, under the load of the concurrency test: 8 clients
 * spread over both APIs, half of them indexing inline and half through the queue that the two workers share.
 */

const CLIENTS = 8;
const ROUNDS = scale(4, 40);
jest.setTimeout(scale(180_000, 900_000));

let t: TestApp;
const processes: ServerProcess[] = [];
beforeAll(async () => {
  t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' });
  const common = { url: t.url, tokenSecret: t.config.BULKSYNC_TOKEN_SECRET!, env: { WORKER: 'off', MIGRATE_ON_START: 'false', WORKER_HEARTBEAT_SECONDS: '2' } };
  processes.push(...(await Promise.all([startServer(common), startServer(common), startServer({ ...common, entry: 'worker' }), startServer({ ...common, entry: 'worker' })])));
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill('SIGTERM')));
  await t.close();
});

describe('2 API processes and 2 workers on one database', () => {
  it('answer 200 to every overlapping request, lose nothing, and leave derived data as a full re-index would', async () => {
    const [api1, api2] = processes;
    const load = new OverlapLoad();
    for (const body of load.seedBodies(await createTax(t.app))) await sync(t.app, body).expect(200);
    await load.run(CLIENTS, ROUNDS, async (body, client) => {
      const res = await fetch(`${(client % 2 ? api1 : api2)!.base}/api/_action/sync`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${t.token}`,
          ...(client % 4 < 2 ? { 'indexing-behavior': 'use-queue-indexing' } : {}),
        },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    });
    expect(load.failures).toEqual([]);
    expect(await load.lostOrDoubled(t.knex)).toEqual([]);
    // The workers drain what was queued; then derived data is what a full re-index computes.
    const expected = await reindexedSnapshot(t.knex, t.indexers);
    const drained = await until(async () => snapshotDiff(await derivedSnapshot(t.knex), expected), (d) => d.length === 0, 120);
    expect(drained).toEqual([]);
    for (const p of processes) expect(p.log()).not.toMatch(/"level":"error"/);
  });
});

describe('2 API processes starting at the same moment on an empty database', () => {
  it('both migrate (one waits for the other), ensure the admin integration once, and serve', async () => {
    const database = await createTestDatabase();
    const started: ServerProcess[] = [];
    try {
      const common = { url: database.url, tokenSecret: t.config.BULKSYNC_TOKEN_SECRET!, env: { WORKER: 'off' } };
      const outcomes = await Promise.allSettled([startServer(common), startServer(common)]);
      for (const o of outcomes) if (o.status === 'fulfilled') started.push(o.value);
      expect(outcomes.map((o) => (o.status === 'rejected' ? String(o.reason).slice(0, 500) : 'started'))).toEqual(['started', 'started']);
      for (const p of started) expect((await fetch(`${p.base}/health`)).status).toBe(200);
    } finally {
      await Promise.all(started.map((p) => p.kill('SIGTERM')));
      await database.drop();
    }
  });
});
