import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import winston from 'winston';
import { Integrations } from '../../src/auth/integrations';
import { createLogger } from '../../src/observability/logger';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/poll';
import { count, createTax, sync } from '../support/sync';
import { hexId, products } from '../fixtures/catalog';

/**
 * Async sync jobs (Prefer: respond-async, docs/sync-jobs.md) against the real app, database and queue worker.
 * The worker is started only once the tests that need a job to stay queued have run.
 */
const lines: string[] = [];
const logger = createLogger('info', { transports: [new winston.transports.Stream({ stream: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) })] });
const logged = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

let t: TestApp;
let taxId: string;
beforeAll(async () => {
  t = await startTestApp({ SYNC_MAX_BODY_BYTES: '3mb', WORKER_HEARTBEAT_SECONDS: '1' }, { logger });
  taxId = await createTax(t.app);
});
afterAll(() => t.close());

const ASYNC = { prefer: 'respond-async' };
const taxes = (prefix: string, n: number) => ({ t: { entity: 'tax', action: 'upsert', payload: Array.from({ length: n }, (_, i) => ({ name: `${prefix} ${i}`, taxRate: 7 })) } });
const named = async (prefix: string) => Number((await t.knex('tax').where('name', 'like', `${prefix} %`).count<{ n: string }[]>('* as n'))[0]!.n);
const lockWaiters = async () => (await t.knex.raw(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'tax'::regclass`)).rows[0].n as number;
const job = (id: string, app = t.app) => request(app).get(`/api/_action/sync/jobs/${id}`);
const ended = (id: string) => until(async () => (await job(id)).body, (b) => ['succeeded', 'failed', 'cancelled'].includes(b.status), 60);

async function asIntegration(privileges: string[]) {
  const integrations = new Integrations(t.knex);
  const { integration, secret } = await integrations.create({ name: `jobs ${hexId().slice(0, 6)}`, privileges });
  const res = await request(t.bare).post('/api/oauth/token').send({ grant_type: 'client_credentials', client_id: integration.clientId, client_secret: secret });
  return { integration, auth: { authorization: `Bearer ${res.body.access_token}` }, revoke: () => integrations.revoke(integration.clientId) };
}

describe('before a worker runs: submission, queued jobs, cancel, refusals', () => {
  it('202 with Location and {id, status: queued}; the body is stored in the database, in chunks, before the answer', async () => {
    const body = { p: { entity: 'product', action: 'upsert', payload: products(taxId, 6000) } };
    const res = await sync(t.app, body, { ...ASYNC, 'x-request-id': 'job-submit-1' });
    expect(res.status).toBe(202);
    expect(res.headers['preference-applied']).toBe('respond-async');
    expect(res.body).toEqual({ id: expect.stringMatching(/^[0-9a-f]{32}$/), status: 'queued' });
    expect(res.headers.location).toBe(`/api/_action/sync/jobs/${res.body.id}`);
    const chunks = await t.knex.raw(`SELECT count(*)::int AS n, sum(length(data))::int AS bytes FROM bulksync_sync_job_chunk WHERE job_id = ?`, [res.body.id]);
    expect(chunks.rows[0].bytes).toBe(Buffer.byteLength(JSON.stringify(body)));
    expect(chunks.rows[0].n).toBeGreaterThan(1);
    const doc = (await job(res.body.id).expect(200)).body;
    expect(doc).toEqual({ id: res.body.id, status: 'queued', createdAt: expect.any(String), startedAt: null, finishedAt: null, progress: { records: 0, processed: 0, committed: 0, done: 0 }, result: null, errors: null });
    expect(await count(t.knex, 'product')).toBe(0);
  });

  it('a queued job that is cancelled never runs', async () => {
    const res = await sync(t.app, taxes('Cancelled', 3), ASYNC).expect(202);
    const cancelled = await request(t.app).delete(`/api/_action/sync/jobs/${res.body.id}`).expect(200);
    expect(cancelled.body).toMatchObject({ id: res.body.id, status: 'cancelled', finishedAt: expect.any(String) });
    const again = await request(t.app).delete(`/api/_action/sync/jobs/${res.body.id}`);
    expect(again.status).toBe(409);
    expect(again.body.errors).toEqual([expect.objectContaining({ code: 'JOB_FINISHED', meta: { status: 'cancelled' } })]);
  });

  it('refused before the 202, nothing stored: a body over SYNC_MAX_BODY_BYTES (413), not JSON, bad headers, an integration that may write nothing', async () => {
    const jobsBefore = await count(t.knex, 'bulksync_sync_job');
    const big = JSON.stringify(taxes('Big', 1)).padEnd(4 * 1024 * 1024, ' ');
    const tooBig = await request(t.app).post('/api/_action/sync').set({ ...ASYNC, 'content-type': 'application/json' }).send(big);
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.errors[0].code).toBe('BODY_TOO_LARGE');
    // Compressed, the size is only known while reading: the limit counts the inflated bytes.
    const zipped = await request(t.app).post('/api/_action/sync').set({ ...ASYNC, 'content-type': 'application/json', 'content-encoding': 'gzip' }).serialize((b: Buffer) => b as unknown as string).send(gzipSync(big));
    expect(zipped.status).toBe(413);
    const text = await request(t.app).post('/api/_action/sync').set({ ...ASYNC, 'content-type': 'text/plain' }).send('hello');
    expect(text.status).toBe(400);
    expect(text.body.errors[0].code).toBe('BODY_NOT_JSON');
    const headers = await sync(t.app, taxes('Hdr', 1), { ...ASYNC, 'fail-on-error': 'maybe', 'indexing-behavior': 'later', 'dry-run': 'perhaps' });
    expect(headers.status).toBe(400);
    // Every bad header at once, as for a synchronous request (one table parses both).
    expect(headers.body.errors.map((e: { code: string; meta: { header: string } }) => [e.code, e.meta.header])).toEqual([
      ['HEADER_INVALID', 'fail-on-error'],
      ['HEADER_INVALID', 'indexing-behavior'],
      ['HEADER_INVALID', 'dry-run'],
    ]);
    const reader = await asIntegration(['product:read']);
    const forbidden = await sync(t.app, taxes('Reader', 1), { ...ASYNC, ...reader.auth });
    expect(forbidden.status).toBe(403);
    expect(await count(t.knex, 'bulksync_sync_job')).toBe(jobsBefore);
  });

  it('job ids: not a UUID is 404; another integration sees none of this one’s jobs', async () => {
    const mine = await sync(t.app, taxes('Mine', 1), ASYNC).expect(202);
    expect((await job('not-a-uuid')).status).toBe(404);
    expect((await request(t.app).delete('/api/_action/sync/jobs/42')).status).toBe(404);
    expect((await job(hexId())).status).toBe(404);
    const other = await asIntegration(['tax:upsert']);
    const seen = await request(t.app).get(`/api/_action/sync/jobs/${mine.body.id}`).set(other.auth);
    expect(seen.status).toBe(404);
    expect(seen.body.errors[0].code).toBe('NOT_FOUND');
    expect((await request(t.app).delete(`/api/_action/sync/jobs/${mine.body.id}`).set(other.auth)).status).toBe(404);
    expect((await request(t.app).get('/api/_action/sync/jobs').set(other.auth).expect(200)).body).toEqual({ data: [], total: 0, page: 1, limit: 25 });
  });

  it('the list: own jobs, newest first, paged', async () => {
    const all = (await request(t.app).get('/api/_action/sync/jobs?limit=100').expect(200)).body;
    expect(all.total).toBeGreaterThanOrEqual(3);
    const created = all.data.map((j: { createdAt: string }) => j.createdAt);
    expect([...created].sort().reverse()).toEqual(created);
    expect(all.data[0]).not.toHaveProperty('result');
    const page2 = (await request(t.app).get('/api/_action/sync/jobs?limit=1&page=2').expect(200)).body;
    expect(page2).toMatchObject({ page: 2, limit: 1, total: all.total });
    expect(page2.data.map((j: { id: string }) => j.id)).toEqual([all.data[1].id]);
    const bad = await request(t.app).get('/api/_action/sync/jobs?limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]).toMatchObject({ code: 'VALUE_INVALID', meta: { parameter: 'limit' } });
  });
});

describe('with a worker', () => {
  let queued: { big: string; revoked: string; invalid: string; keyed: string; dry: string };
  beforeAll(async () => {
    const big = (await job((await request(t.app).get('/api/_action/sync/jobs?limit=100')).body.data.at(-1).id)).body.id as string;
    const writer = await asIntegration(['tax:upsert']);
    const revoked = (await sync(t.app, taxes('Revoked', 2), { ...ASYNC, ...writer.auth }).expect(202)).body.id;
    await writer.revoke();
    const invalid = (await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [{ name: 'Invalid 0', taxRate: 'x' }] } }, ASYNC).expect(202)).body.id;
    const keyed = (await sync(t.app, taxes('Keyed', 2), { ...ASYNC, 'Idempotency-Key': 'job-key-1' }).expect(202)).body.id;
    const dry = (await sync(t.app, taxes('DryJob', 2), { ...ASYNC, 'dry-run': 'true' }).expect(202)).body.id;
    queued = { big, revoked, invalid, keyed, dry };
    await t.startWorker();
  });

  it('runs a job as a normal sync: the result document, progress, timestamps; one log line at start and end with its request id', async () => {
    const doc = await ended(queued.big);
    expect(doc.status).toBe('succeeded');
    expect(doc.progress).toEqual({ records: 6000, processed: 6000, committed: 6000, done: 6000 });
    expect(doc.result.data.product).toHaveLength(6000);
    expect(doc.result).toMatchObject({ deleted: [], notFound: [] });
    expect(doc.errors).toBeNull();
    expect(Date.parse(doc.startedAt)).toBeLessThanOrEqual(Date.parse(doc.finishedAt));
    expect(await count(t.knex, 'product')).toBe(6000);
    const mine = logged().filter((l) => l.jobId === queued.big && l.component === 'sync-jobs');
    expect(mine.map((l) => l.message)).toEqual(['sync job started', 'sync job finished']);
    for (const l of mine) expect(l.requestId).toBe('job-submit-1');
    expect(mine[1]).toMatchObject({ outcome: 'succeeded', records: 6000 });
    expect(JSON.stringify(mine)).not.toContain('SW-1');
  });

  it('privileges are checked when it runs: the queued job of a revoked integration fails with FORBIDDEN, nothing written', async () => {
    // Its integration cannot read it any more (its tokens stopped working): the row tells.
    const row = await until(() => t.knex('bulksync_sync_job').where({ id: queued.revoked }).first(), (r) => r.status !== 'queued' && r.status !== 'running', 60);
    expect(row.status).toBe('failed');
    expect(row.errors).toEqual([expect.objectContaining({ code: 'FORBIDDEN', status: '403' })]);
    expect(await named('Revoked')).toBe(0);
  });

  it('a job whose request is invalid fails with the errors a synchronous request would have answered', async () => {
    const doc = await ended(queued.invalid);
    expect(doc.status).toBe('failed');
    const direct = await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [{ name: 'Invalid 0', taxRate: 'x' }] } });
    expect(doc.errors).toEqual(direct.body.errors);
    expect(doc.result).toBeNull();
  });

  it('with Idempotency-Key, a retried submission returns the same job', async () => {
    const again = await sync(t.app, taxes('Keyed', 2), { ...ASYNC, 'Idempotency-Key': 'job-key-1' });
    expect(again.status).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.id).toBe(queued.keyed);
    expect(again.headers.location).toBe(`/api/_action/sync/jobs/${queued.keyed}`);
    expect((await ended(queued.keyed)).status).toBe('succeeded');
    expect(await named('Keyed')).toBe(2);
  });

  it('a dry-run job answers its result and writes nothing', async () => {
    const doc = await ended(queued.dry);
    expect(doc.status).toBe('succeeded');
    expect(doc.result.data.tax).toHaveLength(2);
    expect(doc.progress).toEqual({ records: 2, processed: 2, committed: 0, done: 0 });
    expect(await named('DryJob')).toBe(0);
  });

  it('a gzip body is stored inflated and runs', async () => {
    const res = await request(t.app)
      .post('/api/_action/sync')
      .set({ ...ASYNC, 'content-type': 'application/json', 'content-encoding': 'gzip' })
      .serialize((b: Buffer) => b as unknown as string)
      .send(gzipSync(JSON.stringify(taxes('Zipped', 3))));
    expect(res.status).toBe(202);
    expect((await ended(res.body.id)).status).toBe('succeeded');
    expect(await named('Zipped')).toBe(3);
  });

  it('a running job that is cancelled is rolled back, and a finished job cannot be cancelled (409 JOB_FINISHED)', async () => {
    // The job is held inside its transaction, after its writes began, by a lock on the tax table.
    const blocker = await t.knex.transaction();
    await blocker.raw('LOCK TABLE tax IN SHARE MODE');
    const res = await sync(t.app, taxes('Running', 5), ASYNC).expect(202);
    const running = await until(async () => (await job(res.body.id)).body.status, (s) => s === 'running');
    expect(running).toBe('running');
    await until(lockWaiters, (n) => n > 0);
    // Progress while it runs: the records read from the body, none written (committed) yet.
    expect(await until(async () => (await job(res.body.id)).body.progress, (p) => p.records === 5)).toEqual({ records: 5, processed: 0, committed: 0, done: 0 });
    const cancel = await request(t.app).delete(`/api/_action/sync/jobs/${res.body.id}`);
    expect(cancel.status).toBe(200);
    expect(cancel.body.status).toBe('cancelled');
    // The job's statement is cancelled while it still waits for the lock: it ends before the lock is released.
    expect(await until(async () => logged().some((l) => l.jobId === res.body.id && l.message === 'sync job finished'), (x) => x)).toBe(true);
    expect(await until(lockWaiters, (n) => n === 0)).toBe(0);
    await blocker.commit();
    expect(logged().find((l) => l.jobId === res.body.id && l.message === 'sync job finished')).toMatchObject({ outcome: 'cancelled' });
    expect((await job(res.body.id)).body.status).toBe('cancelled');
    expect(await named('Running')).toBe(0);
    const finished = await request(t.app).delete(`/api/_action/sync/jobs/${queued.big}`);
    expect(finished.status).toBe(409);
    expect(finished.body.errors[0]).toMatchObject({ code: 'JOB_FINISHED', meta: { status: 'succeeded' } });
  });

  it('a job cancelled after it processed records reports them as processed, none as committed (done)', async () => {
    // The taxes (a chunk of SYNC_CHUNK_RECORDS, 2,000, and the rest) are written; the category after them waits for
    // a lock, inside the job's open transaction.
    const blocker = await t.knex.transaction();
    await blocker.raw('LOCK TABLE category IN SHARE MODE');
    const body = { ...taxes('Processed', 2500), c: { entity: 'category', action: 'upsert', payload: [{ name: 'Blocked' }] } };
    const res = await sync(t.app, body, ASYNC).expect(202);
    try {
      const progress = await until(async () => (await job(res.body.id)).body.progress, (p) => p.processed >= 2000);
      expect(progress.processed).toBeGreaterThanOrEqual(2000);
      expect(progress).toMatchObject({ committed: 0, done: 0 });
      expect((await request(t.app).delete(`/api/_action/sync/jobs/${res.body.id}`)).body.status).toBe('cancelled');
      expect(await until(async () => logged().some((l) => l.jobId === res.body.id && l.message === 'sync job finished'), (x) => x)).toBe(true);
    } finally {
      await blocker.commit();
    }
    const doc = (await job(res.body.id)).body;
    expect(doc.status).toBe('cancelled');
    expect(doc.progress.processed).toBeGreaterThanOrEqual(2000);
    expect(doc.progress).toMatchObject({ committed: 0, done: 0 });
    expect(await named('Processed')).toBe(0);
  });

  it('metrics: jobs by status, job durations by outcome', async () => {
    const text = (await request(t.app).get('/metrics').expect(200)).text;
    expect(text).toMatch(/^bulksync_sync_jobs\{status="succeeded"\} [1-9]/m);
    expect(text).toMatch(/^bulksync_sync_jobs\{status="failed"\} [1-9]/m);
    expect(text).toMatch(/^bulksync_sync_jobs\{status="cancelled"\} [1-9]/m);
    expect(text).toMatch(/^bulksync_sync_job_duration_seconds_count\{outcome="succeeded"\} [1-9]/m);
    expect(text).toMatch(/^bulksync_sync_job_duration_seconds_count\{outcome="failed"\} [1-9]/m);
  });
});

describe('a chunked body (no Content-Length) that grows past SYNC_MAX_BODY_BYTES', () => {
  it('is answered 413 before any 202, and nothing is stored', async () => {
    const http = await import('node:http');
    const server = t.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as { port: number };
    const jobsBefore = await count(t.knex, 'bulksync_sync_job');
    try {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/api/_action/sync', headers: { 'content-type': 'application/json', prefer: 'respond-async', 'transfer-encoding': 'chunked' } }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        // 4 MB in 64 kB pieces against a 3 MB limit; the server may answer before the last piece.
        const piece = Buffer.alloc(64 * 1024, ' ');
        let sent = 0;
        const more = () => {
          while (sent < 64) {
            sent++;
            if (!req.write(piece)) return void req.once('drain', more);
          }
          req.end();
        };
        more();
      });
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body).errors[0].code).toBe('BODY_TOO_LARGE');
    } finally {
      server.close();
    }
    expect(await count(t.knex, 'bulksync_sync_job')).toBe(jobsBefore);
  });
});
