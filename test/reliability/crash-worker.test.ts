import request from 'supertest';
import { until } from '../support/poll';
import { startTestApp, type TestApp } from '../support/app';
import { derivedSnapshot, reindexedSnapshot, snapshotDiff } from '../support/overlap-load';
import { LONG, scale, startServer, type ServerProcess } from '../support/reliability';
import { count, createTax, sync } from '../support/sync';
import { hexId, product } from '../fixtures/catalog';

/**
 * kill -9 of indexing workers in the middle of their jobs while concurrent syncs (use-queue-indexing) keep writing:
 * after a last worker drains the queue, every derived field equals what a full re-index gives.
 */
const PRODUCTS = scale(1_000, 20_000);
const KILLS = scale(2, 10);
const WRITERS = 3;
const QUEUE = { 'indexing-behavior': 'use-queue-indexing' };

jest.setTimeout(scale(120_000, 1_800_000));

let t: TestApp;
let worker: ServerProcess | undefined;
afterAll(async () => {
  await worker?.kill();
  await t?.close();
});

const rand = (n: number) => Math.floor(Math.random() * n);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`kill -9 of a worker mid-job, ${KILLS} times, while ${WRITERS + 1} clients write`, () => {
  it('heals: after the queue drains, every derived field equals a full re-index, and no job or id is dead', async () => {
    t = await startTestApp({ WORKER_HEARTBEAT_SECONDS: '1' });
    const env = { WORKER_HEARTBEAT_SECONDS: '1', LOG_LEVEL: 'info' };
    const taxId = await createTax(t.app);
    // A three-level tree: 3 roots, 9 parents, 27 leaves.
    const roots = Array.from({ length: 3 }, () => hexId());
    const parents = Array.from({ length: 9 }, (_, i) => ({ id: hexId(), parentId: roots[i % 3]! }));
    const leaves = Array.from({ length: 27 }, (_, i) => ({ id: hexId(), parentId: parents[i % 9]!.id }));
    await sync(t.app, {
      c: {
        entity: 'category',
        action: 'upsert',
        payload: [...roots.map((id, i) => ({ id, name: `Root ${i}` })), ...parents.map((p, i) => ({ ...p, name: `Parent ${i}` })), ...leaves.map((l, i) => ({ ...l, name: `Leaf ${i}` }))],
      },
    }, QUEUE).expect(200);
    // Each writer owns a slice of the products (the deadlock work is another part of the suite).
    const ids = Array.from({ length: PRODUCTS }, () => hexId());
    for (let i = 0; i < PRODUCTS; i += 1000) {
      const payload = ids.slice(i, i + 1000).map((id, k) => product(taxId, i + k, { id, categories: [{ id: leaves[(i + k) % 27]!.id }] }));
      await sync(t.app, { p: { entity: 'product', action: 'upsert', payload } }, QUEUE).expect(200);
    }

    let writing = true;
    const answers = new Map<number, number>();
    const note = (status: number) => answers.set(status, (answers.get(status) ?? 0) + 1);
    const writer = async (w: number) => {
      const mine = ids.filter((_, i) => i % WRITERS === w);
      for (let round = 0; writing; round++) {
        const payload = Array.from({ length: 200 }, () => {
          const k = rand(mine.length);
          return { id: mine[k], name: `w${w} r${round} ${hexId().slice(0, 6)}`, categories: [{ id: leaves[rand(27)]!.id }] };
        });
        note((await sync(t.app, { p: { entity: 'product', action: 'upsert', payload } }, QUEUE)).status);
      }
    };
    // One client renames categories and moves leaves between parents: subtrees and their products re-derive.
    const mover = async () => {
      for (let round = 0; writing; round++) {
        const leaf = leaves[rand(27)]!;
        const parent = parents[rand(9)]!;
        note(
          (
            await sync(t.app, {
              c: { entity: 'category', action: 'upsert', payload: [{ id: leaf.id, parentId: parent.id }, { id: parent.id, name: `Parent ${round}` }] },
            }, QUEUE)
          ).status,
        );
        await sleep(20);
      }
    };
    const clients = [...Array.from({ length: WRITERS }, (_, w) => writer(w)), mover()];

    let killedMidJob = 0;
    for (let k = 0; k < KILLS; k++) {
      worker = await startServer({ url: t.url, tokenSecret: t.config.BULKSYNC_TOKEN_SECRET!, entry: 'worker', env });
      await sleep(300 + rand(1500));
      const running = await t.knex.raw(`SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE locked_at IS NOT NULL`);
      if (running.rows[0].n > 0) killedMidJob++;
      await worker.kill('SIGKILL');
    }
    writing = false;
    await Promise.all(clients);

    // A last worker drains what is left, the jobs of the killed ones included.
    worker = await startServer({ url: t.url, tokenSecret: t.config.BULKSYNC_TOKEN_SECRET!, entry: 'worker', env });
    const drained = async () => {
      const jobs = await t.knex.raw(`SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE attempts < max_attempts`);
      return (await count(t.knex, 'bulksync_index_pending')) + jobs.rows[0].n;
    };
    expect(await until(drained, (n) => n === 0, scale(60, 600))).toBe(0);
    await worker.kill('SIGTERM');

    const statuses = [...answers.keys()];
    expect(statuses).toEqual([200]);
    expect(killedMidJob).toBeGreaterThan(0);
    const dead = await t.knex.raw(`SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE attempts >= max_attempts`);
    expect(dead.rows[0].n).toBe(0);
    const status = (await request(t.app).get('/api/_action/indexing/status').expect(200)).body.data;
    for (const s of status) expect(s).toMatchObject({ pending: 0, dead: 0, deadLettered: 0 });
    // Every derived field as a full re-index computes it (in a transaction rolled back afterwards).
    expect(snapshotDiff(await derivedSnapshot(t.knex), await reindexedSnapshot(t.knex, t.indexers))).toEqual([]);
    if (LONG) process.stdout.write(`crash-worker: ${KILLS} kills (${killedMidJob} mid-job), ${[...answers.values()].reduce((a, b) => a + b, 0)} syncs, ${PRODUCTS} products, 0 stale\n`);
  });
});
