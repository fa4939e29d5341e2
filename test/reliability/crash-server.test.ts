import { until } from '../support/poll';
import { startTestApp, type TestApp } from '../support/app';
import { derivedSnapshot, reindexedSnapshot, snapshotDiff } from '../support/overlap-load';
import { LONG, scale, startServer, type ServerProcess } from '../support/reliability';
import { count, createTax } from '../support/sync';
import { hexId, product } from '../fixtures/catalog';

/**
 * kill -9 of the API server (src/main.ts in a child process) at random moments of a large sync: every request is
 * all or nothing, the server restarts cleanly on the same database, and queued indexing interrupted by the kill heals.
 */
const RECORDS = scale(10_000, 100_000);
const MOMENTS = scale(3, 10);

jest.setTimeout(scale(180_000, 3_600_000));

let t: TestApp;
let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.kill();
});
afterAll(async () => {
  await t?.close();
});

const rand = (n: number) => Math.floor(Math.random() * n);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function start(env: Record<string, string>): Promise<ServerProcess> {
  return startServer({ url: t.url, tokenSecret: t.config.BULKSYNC_TOKEN_SECRET!, env });
}

async function post(s: ServerProcess, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${s.base}/api/_action/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t.token}`, ...headers },
    body: JSON.stringify(body),
  });
}

beforeAll(async () => {
  t = await startTestApp({ WORKER_HEARTBEAT_SECONDS: '1' });
});

describe(`kill -9 of the server at ${MOMENTS} random moments of a ${RECORDS}-record sync`, () => {
  it('leaves each request all or nothing (its rows, links and queued ids), and the server restarts cleanly on the same database', async () => {
    // Each product's nested category link counts as a record too.
    const env = { WORKER: 'off', LOG_LEVEL: 'info', SYNC_MAX_RECORDS: String(3 * RECORDS) };
    const taxId = await createTax(t.app);
    const category = hexId();
    const payload = (tag: string) =>
      Array.from({ length: RECORDS }, (_, i) => product(taxId, i, { productNumber: `${tag}-${i}`, categories: [{ id: category, name: 'Crash' }] }));
    const written = async (tag: string) => ({
      products: Number((await t.knex('product').where('product_number', 'like', `${tag}-%`).count({ n: '*' }))[0]!.n),
      links: Number((await t.knex('product_category').join('product', 'product.id', 'product_category.product_id').where('product.product_number', 'like', `${tag}-%`).count({ n: '*' }))[0]!.n),
      // The queued ids are written in the same transaction: all or nothing as well.
      pending: Number(
        (await t.knex('bulksync_index_pending').join('product', 'product.id', 'bulksync_index_pending.id').where({ indexer: 'product.search' }).where('product.product_number', 'like', `${tag}-%`).count({ n: '*' }))[0]!.n,
      ),
    });
    const QUEUE = { 'indexing-behavior': 'use-queue-indexing' };

    server = await start(env);
    // How long a whole request takes here, so that the kills land inside one.
    const began = Date.now();
    const full = await post(server, { p: { entity: 'product', action: 'upsert', payload: payload('FULL') } }, QUEUE);
    const took = Date.now() - began;
    expect(full.status).toBe(200);
    expect(await written('FULL')).toEqual({ products: RECORDS, links: RECORDS, pending: RECORDS });

    const outcomes: string[] = [];
    for (let k = 0; k < MOMENTS; k++) {
      const tag = `K${k}`;
      const answer = post(server, { p: { entity: 'product', action: 'upsert', payload: payload(tag) } }, QUEUE).then(
        (r) => r.status,
        () => 'killed',
      );
      await sleep(Math.round(took * (0.05 + Math.random() * 0.9)));
      await server.kill('SIGKILL');
      const status = await answer;
      const w = await written(tag);
      outcomes.push(`${status}:${w.products}`);
      // All or nothing: a killed request wrote no row, an answered one all of them.
      expect([0, RECORDS]).toContain(w.products);
      expect(w.links).toBe(w.products);
      expect(w.pending).toBe(w.products);
      if (status === 200) expect(w.products).toBe(RECORDS);

      server = await start(env);
      const health = await fetch(`${server.base}/health`);
      expect(health.status).toBe(200);
      const small = await post(server, { p: { entity: 'product', action: 'upsert', payload: [product(taxId, 9, { productNumber: `${tag}-after` })] } });
      expect(small.status).toBe(200);
    }
    expect(outcomes.filter((o) => o.startsWith('killed')).length).toBeGreaterThan(0);
    if (LONG) process.stdout.write(`crash-server: ${RECORDS} records, full sync ${took} ms, outcomes ${outcomes.join(' ')}\n`);
    await server.kill('SIGTERM');
  });

  it('killed right after its queued syncs returned (in-process worker), it heals after a restart', async () => {
    const env = { WORKER: 'on', WORKER_HEARTBEAT_SECONDS: '1', LOG_LEVEL: 'info' };
    const QUEUE = { 'indexing-behavior': 'use-queue-indexing' };
    const taxId = await createTax(t.app);
    const parents = Array.from({ length: 5 }, () => hexId());
    const leaves = Array.from({ length: 20 }, () => hexId());
    const ids = Array.from({ length: scale(1_000, 20_000) }, () => hexId());
    server = await start(env);
    const tree = [...parents.map((id, i) => ({ id, name: `P${i}` })), ...leaves.map((id, i) => ({ id, name: `L${i}`, parentId: parents[i % 5] }))];
    expect((await post(server, { c: { entity: 'category', action: 'upsert', payload: tree } })).status).toBe(200);
    for (let i = 0; i < ids.length; i += 1000) {
      const batch = ids.slice(i, i + 1000).map((id, k) => product(taxId, i + k, { id, categories: [{ id: leaves[(i + k) % 20] }] }));
      expect((await post(server, { p: { entity: 'product', action: 'upsert', payload: batch } }, QUEUE)).status).toBe(200);
    }
    // Renames and moves, queued; the kill comes as soon as the last one is answered.
    for (let r = 0; r < 5; r++) {
      const renames = ids.filter((_, i) => i % 5 === r).map((id) => ({ id, name: `renamed ${r} ${hexId().slice(0, 8)}` }));
      const moves = [{ id: leaves[rand(20)], parentId: parents[rand(5)] }, { id: parents[rand(5)], name: `P renamed ${r}` }];
      const res = await post(server, { c: { entity: 'category', action: 'upsert', payload: moves }, p: { entity: 'product', action: 'upsert', payload: renames } }, QUEUE);
      expect(res.status).toBe(200);
    }
    await server.kill('SIGKILL');
    const pendingAtKill = await count(t.knex, 'bulksync_index_pending');
    expect(pendingAtKill).toBeGreaterThan(0);

    server = await start(env);
    const left = async () => {
      const jobs = await t.knex.raw(`SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE attempts < max_attempts`);
      return (await count(t.knex, 'bulksync_index_pending')) + jobs.rows[0].n;
    };
    expect(await until(left, (n) => n === 0, scale(60, 600))).toBe(0);
    await server.kill('SIGTERM');
    const dead = await t.knex.raw(`SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE attempts >= max_attempts`);
    expect(dead.rows[0].n).toBe(0);
    // Every derived field as a full re-index computes it (in a transaction rolled back afterwards).
    expect(snapshotDiff(await derivedSnapshot(t.knex), await reindexedSnapshot(t.knex, t.indexers))).toEqual([]);
    if (LONG) process.stdout.write(`crash-server heal: ${ids.length} products, ${pendingAtKill} ids pending at the kill, 0 stale after restart\n`);
  });
});
