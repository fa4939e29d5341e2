import request from 'supertest';
import { until } from '../support/poll';
import { startTestApp, type TestApp } from '../support/app';
import { startServer, type ServerProcess } from '../support/reliability';
import { count, sync } from '../support/sync';

/**
 * kill -9 of a worker process (npm run worker's entry, a real child process) in the middle of an async sync job:
 * nothing of the job is written, the job is not lost, and another worker runs it again to completion.
 */
jest.setTimeout(180_000);

let t: TestApp;
const workers: ServerProcess[] = [];
afterAll(async () => {
  for (const w of workers) await w.kill();
  await t?.close();
});

const lockWaiters = async () => (await t.knex.raw(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'tax'::regclass`)).rows[0].n as number;

describe('a worker killed mid-job', () => {
  it('leaves nothing written, and the job runs again to completion on another worker', async () => {
    t = await startTestApp({ WORKER_HEARTBEAT_SECONDS: '1' });
    const env = { WORKER_HEARTBEAT_SECONDS: '1' };
    const payload = Array.from({ length: 500 }, (_, i) => ({ name: `Crash ${i}`, taxRate: 7 }));
    const submitted = await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload } }, { prefer: 'respond-async', 'x-request-id': 'crash-job' }).expect(202);
    const id: string = submitted.body.id;

    // Held inside its transaction (its first insert waits for this lock), so the kill lands mid-job for sure.
    const blocker = await t.knex.transaction();
    await blocker.raw('LOCK TABLE tax IN SHARE MODE');
    const first = await startServer({ url: t.url, tokenSecret: t.config.BULKSYNC_TOKEN_SECRET!, entry: 'worker', env });
    workers.push(first);
    expect(await until(lockWaiters, (n) => n > 0, 60)).toBeGreaterThan(0);
    expect((await request(t.app).get(`/api/_action/sync/jobs/${id}`)).body.status).toBe('running');
    expect(first.log()).toContain('sync job started');
    await first.kill('SIGKILL');
    await blocker.commit();

    // The killed worker's transaction never committed: nothing of the job is there, and the job is still to do.
    // (Its backend may still be waiting to find its client gone: wait until no session holds it open.)
    await until(lockWaiters, (n) => n === 0, 30);
    expect(await t.knex('tax').where('name', 'like', 'Crash %').select('id')).toHaveLength(0);
    expect((await request(t.app).get(`/api/_action/sync/jobs/${id}`)).body).toMatchObject({ status: 'running', result: null, finishedAt: null });

    // Another worker finds the job of the silent one (heartbeats), takes it back and runs it.
    const second = await startServer({ url: t.url, tokenSecret: t.config.BULKSYNC_TOKEN_SECRET!, entry: 'worker', env });
    workers.push(second);
    const doc = await until(async () => (await request(t.app).get(`/api/_action/sync/jobs/${id}`)).body, (b) => b.status !== 'running' && b.status !== 'queued', 90);
    expect(doc.status).toBe('succeeded');
    expect(doc.result.data.tax).toHaveLength(500);
    expect(doc.progress).toEqual({ records: 500, processed: 500, committed: 500, done: 500 });
    expect(await t.knex('tax').where('name', 'like', 'Crash %').select('id')).toHaveLength(500);
    const row = await t.knex('bulksync_sync_job').where({ id }).first();
    expect(row.attempts).toBe(2);
    // The retried run gave the attempt back: the queue job is gone, not dead.
    expect(await count(t.knex, 'bulksync_sync_job')).toBe(1);
    const left = await t.knex.raw(`SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE task_identifier = 'bulksync_sync_job'`);
    expect(left.rows[0].n).toBe(0);
    expect(second.log()).toMatch(/sync job finished.*crash-job|crash-job.*sync job finished/);
    await second.kill('SIGTERM');
  });
});
