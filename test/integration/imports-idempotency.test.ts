import request from 'supertest';
import { Integrations } from '../../src/auth/integrations';
import { PRUNE_TASK } from '../../src/jobs/prune';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/poll';
import { count, sync } from '../support/sync';

/** Idempotency-Key on POST /api/_action/sync (docs/sync-jobs.md), against the real app and database. */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

/** Taxes without ids: a request that ran twice would have made them twice. */
const taxes = (prefix: string, n: number) => ({ t: { entity: 'tax', action: 'upsert', payload: Array.from({ length: n }, (_, i) => ({ name: `${prefix} ${i}`, taxRate: 7 })) } });
const named = async (prefix: string) => Number((await t.knex('tax').where('name', 'like', `${prefix} %`).count<{ n: string }[]>('* as n'))[0]!.n);

async function tokenOf(clientId: string, secret: string): Promise<string> {
  const res = await request(t.bare).post('/api/oauth/token').send({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret });
  return res.body.access_token;
}

describe('Idempotency-Key', () => {
  it('the first request runs; the same request again gets its answer with Idempotent-Replayed: true and runs nothing', async () => {
    const first = await sync(t.app, taxes('Replay', 3), { 'Idempotency-Key': 'k-replay' });
    expect(first.status).toBe(200);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(first.body.data.tax).toHaveLength(3);
    const again = await sync(t.app, taxes('Replay', 3), { 'Idempotency-Key': 'k-replay' });
    expect(again.status).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers['x-indexing']).toBe(first.headers['x-indexing']);
    expect(again.headers['content-type']).toMatch(/^application\/json/);
    // The same new ids: the answer is the first's, not a second run's.
    expect(again.body).toEqual(first.body);
    expect(await named('Replay')).toBe(3);
    const metrics = await request(t.app).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/^bulksync_idempotent_replays_total [1-9]/m);
  });

  it('the same key with another body or another meaningful header: 422 IDEMPOTENCY_KEY_REUSED, nothing runs', async () => {
    await sync(t.app, taxes('Reuse', 1), { 'Idempotency-Key': 'k-reuse' }).expect(200);
    const otherBody = await sync(t.app, taxes('Reuse', 2), { 'Idempotency-Key': 'k-reuse' });
    expect(otherBody.status).toBe(422);
    expect(otherBody.body.errors).toEqual([expect.objectContaining({ status: '422', code: 'IDEMPOTENCY_KEY_REUSED', meta: { header: 'Idempotency-Key' } })]);
    const otherHeader = await sync(t.app, taxes('Reuse', 1), { 'Idempotency-Key': 'k-reuse', 'fail-on-error': 'false' });
    expect(otherHeader.status).toBe(422);
    expect(await named('Reuse')).toBe(1);
    // Headers that do not change the meaning (a request id) do not count.
    const sameMeaning = await sync(t.app, taxes('Reuse', 1), { 'Idempotency-Key': 'k-reuse', 'x-request-id': 'another-id' });
    expect(sameMeaning.status).toBe(200);
    expect(sameMeaning.headers['idempotent-replayed']).toBe('true');
  });

  it('an error answer (4xx) is stored and replayed too; nothing was written by either', async () => {
    const bad = { t: { entity: 'tax', action: 'upsert', payload: [{ name: 'Bad key 0', taxRate: 'lots' }] } };
    const first = await sync(t.app, bad, { 'Idempotency-Key': 'k-error' });
    expect(first.status).toBe(400);
    const again = await sync(t.app, bad, { 'Idempotency-Key': 'k-error' });
    expect(again.status).toBe(400);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers['content-type']).toMatch(/^application\/vnd\.api\+json/);
    expect(again.body).toEqual(first.body);
    expect(await named('Bad key')).toBe(0);
  });

  it('keys belong to their integration: another integration with the same key runs its own request', async () => {
    const { secret, integration } = await new Integrations(t.knex).create({ name: 'other', privileges: ['tax:upsert'] });
    const token = await tokenOf(integration.clientId, secret);
    await sync(t.app, taxes('Scoped', 1), { 'Idempotency-Key': 'k-scoped' }).expect(200);
    const other = await sync(t.app, taxes('Scoped', 1), { 'Idempotency-Key': 'k-scoped', authorization: `Bearer ${token}` });
    expect(other.status).toBe(200);
    expect(other.headers['idempotent-replayed']).toBeUndefined();
    expect(await named('Scoped')).toBe(2);
  });

  it('while the first request with a key runs, the same key is 409 IDEMPOTENCY_IN_FLIGHT with Retry-After; afterwards it replays', async () => {
    // The first request is held inside its transaction (after it took the key) by a lock on the tax table.
    const blocker = await t.knex.transaction();
    await blocker.raw('LOCK TABLE tax IN SHARE MODE');
    const first = sync(t.app, taxes('Flight', 2), { 'Idempotency-Key': 'k-flight' }).then((r) => r);
    const waiting = await until(
      async () => (await t.knex.raw(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'tax'::regclass`)).rows[0].n,
      (n) => n > 0,
    );
    expect(waiting).toBeGreaterThan(0);
    const second = await sync(t.app, taxes('Flight', 2), { 'Idempotency-Key': 'k-flight' });
    expect(second.status).toBe(409);
    expect(second.headers['retry-after']).toBe('1');
    expect(second.body.errors).toEqual([expect.objectContaining({ code: 'IDEMPOTENCY_IN_FLIGHT' })]);
    await blocker.commit();
    const done = await first;
    expect(done.status).toBe(200);
    const third = await sync(t.app, taxes('Flight', 2), { 'Idempotency-Key': 'k-flight' });
    expect(third.headers['idempotent-replayed']).toBe('true');
    expect(third.body).toEqual(done.body);
    expect(await named('Flight')).toBe(2);
  });

  it('eight concurrent requests with one key: exactly one runs, the others are 409 or its replay', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => sync(t.app, taxes('Burst', 200), { 'Idempotency-Key': 'k-burst' })));
    const ran = answers.filter((a) => a.status === 200 && !a.headers['idempotent-replayed']);
    expect(ran).toHaveLength(1);
    for (const a of answers) {
      if (a === ran[0]) continue;
      if (a.status === 200) expect(a.body).toEqual(ran[0]!.body);
      else expect(a.body.errors[0].code).toBe('IDEMPOTENCY_IN_FLIGHT');
    }
    expect(await named('Burst')).toBe(200);
  });

  it('a dry run neither replays nor stores a key', async () => {
    const before = await count(t.knex, 'bulksync_idempotency_key');
    const dry = await sync(t.app, taxes('DryKey', 1), { 'Idempotency-Key': 'k-dry', 'dry-run': 'true' });
    expect(dry.status).toBe(200);
    expect(await count(t.knex, 'bulksync_idempotency_key')).toBe(before);
    const real = await sync(t.app, taxes('DryKey', 1), { 'Idempotency-Key': 'k-dry' });
    expect(real.headers['idempotent-replayed']).toBeUndefined();
    expect(await named('DryKey')).toBe(1);
  });

  it('an empty or over-long key is 400 HEADER_INVALID, before anything runs', async () => {
    for (const key of ['', 'x'.repeat(256), 'sp ace']) {
      const res = await sync(t.app, taxes('BadKey', 1), { 'Idempotency-Key': key });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ code: 'HEADER_INVALID', meta: { header: 'Idempotency-Key' } })]);
    }
    expect((await sync(t.app, taxes('LongKey', 1), { 'Idempotency-Key': 'x'.repeat(255) })).status).toBe(200);
    expect(await named('BadKey')).toBe(0);
  });

  it('an expired key is as good as none, and the pruner (a queue task, on the cron of the workers) removes it', async () => {
    await sync(t.app, taxes('Expired', 1), { 'Idempotency-Key': 'k-expired' }).expect(200);
    await t.knex('bulksync_idempotency_key').where({ key: 'k-expired' }).update({ expires_at: t.knex.raw(`now() - interval '1 second'`) });
    // Past IDEMPOTENCY_TTL_HOURS the key is free again: another request with it runs.
    const reused = await sync(t.app, taxes('Expired', 2), { 'Idempotency-Key': 'k-expired' });
    expect(reused.status).toBe(200);
    expect(reused.headers['idempotent-replayed']).toBeUndefined();
    await t.knex('bulksync_idempotency_key').where({ key: 'k-expired' }).update({ expires_at: t.knex.raw(`now() - interval '1 second'`) });
    const live = await count(t.knex, 'bulksync_idempotency_key');
    await t.startWorker();
    // The cron item is known to graphile-worker (its cron registers it once started: under load, a moment after the
    // worker is), and its task, queued as the cron would, prunes.
    const known = async () => (await t.knex.raw(`SELECT identifier FROM graphile_worker._private_known_crontabs`)).rows.map((r: { identifier: string }) => r.identifier) as string[];
    expect(await until(known, (ids) => ids.includes(PRUNE_TASK))).toContain(PRUNE_TASK);
    await t.knex.raw(`SELECT graphile_worker.add_job(?)`, [PRUNE_TASK]);
    expect(await until(() => count(t.knex, 'bulksync_idempotency_key'), (n) => n === live - 1)).toBe(live - 1);
    expect(await t.knex('bulksync_idempotency_key').where({ key: 'k-expired' }).first()).toBeUndefined();
  });
});
