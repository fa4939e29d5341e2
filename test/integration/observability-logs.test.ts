import { Writable } from 'node:stream';
import request from 'supertest';
import winston from 'winston';
import { createLogger, LOG_LIMITS } from '../../src/observability/logger';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/poll';
import { count, createTax, sync } from '../support/sync';
import { products } from '../fixtures/catalog';

/** A logger of the service (its format: redaction, bounds, JSON) whose lines stay in memory. */
function memoryLogger(level = 'debug') {
  const lines: string[] = [];
  const stream = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
  const logger = createLogger(level, { transports: [new winston.transports.Stream({ stream })] });
  const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, parsed };
}

let t: TestApp;
const mem = memoryLogger();
beforeAll(async () => {
  t = await startTestApp({}, { logger: mem.logger });
});
afterAll(() => t.close());

const requestLine = (id: string) => mem.parsed().find((l) => l.message === 'request' && l.requestId === id);

describe('request log lines', () => {
  it('one line per request with method, route pattern, status, duration, records, integration, client ip and request id', async () => {
    const taxId = await createTax(t.app);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: products(taxId, 3) } }, { 'x-request-id': 'req-shape-1' }).expect(200);
    const line = requestLine('req-shape-1');
    expect(line).toMatchObject({
      level: 'info',
      method: 'POST',
      route: '/api/_action/sync',
      status: 200,
      records: 3,
      integration: 'test-admin',
      requestId: 'req-shape-1',
      service: 'bulksync',
    });
    expect(line!.durationMs).toEqual(expect.any(Number));
    expect(line!.ip).toMatch(/127\.0\.0\.1|::1/);
    expect(mem.parsed().filter((l) => l.requestId === 'req-shape-1' && l.message === 'request')).toHaveLength(1);
  });

  it('a 401 is logged with the route it asked for, not as unmatched', async () => {
    await request(t.bare).get('/api/product/0123456789abcdef0123456789abcdef').set('x-request-id', 'req-401').expect(401);
    await request(t.bare).post('/api/_action/sync').set('x-request-id', 'req-401-sync').send({}).expect(401);
    expect(requestLine('req-401')).toMatchObject({ method: 'GET', route: '/api/:entity/:id', status: 401, level: 'info' });
    expect(requestLine('req-401')!.integration).toBeUndefined();
    expect(requestLine('req-401-sync')).toMatchObject({ method: 'POST', route: '/api/_action/sync', status: 401 });
  });

  it('a 404 of an existing route keeps its pattern; a path no route takes is unmatched', async () => {
    await request(t.app).get('/api/product/0123456789abcdef0123456789abcdef').set('x-request-id', 'req-404').expect(404);
    await request(t.app).get('/nothing/here').set('x-request-id', 'req-404-none').expect(404);
    expect(requestLine('req-404')).toMatchObject({ route: '/api/:entity/:id', status: 404 });
    expect(requestLine('req-404-none')).toMatchObject({ route: 'unmatched', status: 404 });
  });

  it('a path that cannot be percent-decoded gets a 4xx and a request line; the server keeps serving', async () => {
    // The fuzzer's '%E0%A4%A': the route lookup for the log line threw a URIError in the response's finish handler.
    await request(t.bare).post('/api/search/%E0%A4%A').set('x-request-id', 'req-bad-path-401').send({}).expect(401);
    const authed = await request(t.app).post('/api/search/%E0%A4%A').set('x-request-id', 'req-bad-path').send({});
    expect(authed.status).toBeGreaterThanOrEqual(400);
    expect(authed.status).toBeLessThan(500);
    expect(requestLine('req-bad-path-401')).toMatchObject({ route: 'unmatched', status: 401 });
    expect(requestLine('req-bad-path')).toMatchObject({ status: authed.status });
    await request(t.app).get('/api/product/0123456789abcdef0123456789abcdef').expect(404);
  });

  it('probes (/health, /ready, /metrics) are logged at debug', async () => {
    await request(t.bare).get('/health').set('x-request-id', 'probe-health').expect(200);
    await request(t.bare).get('/ready').set('x-request-id', 'probe-ready').expect(200);
    await request(t.bare).get('/metrics').set('x-request-id', 'probe-metrics').expect(200);
    for (const id of ['probe-health', 'probe-ready', 'probe-metrics']) expect(requestLine(id)).toMatchObject({ level: 'debug' });
  });
});

describe('indexing job log lines', () => {
  it('after a queued sync of 20,000 records: job id, task, indexer, entity and record count; no line carries ids', async () => {
    const taxId = await createTax(t.app);
    const before = mem.lines.length;
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: products(taxId, 20_000, 100) } }, { 'indexing-behavior': 'use-queue-indexing' }).expect(200);
    expect(res.headers['x-indexing']).toMatch(/^queued/);
    await t.startWorker();
    const pending = () => t.knex.raw(`SELECT count(*)::int AS n FROM bulksync_index_pending`).then((r) => r.rows[0].n as number);
    expect(await until(pending, (n) => n === 0, 120)).toBe(0);
    expect(await count(t.knex, 'product')).toBeGreaterThanOrEqual(20_000);
    // A job logs its line once it has ended, a moment after its last batch emptied the pending list.
    const jobLines = () => mem.lines.slice(before).map((l) => JSON.parse(l)).filter((l) => l.message === 'indexing job finished');
    const recordsOf = (indexer: string) => jobLines().filter((j) => j.indexer === indexer).reduce((n, j) => n + j.records, 0);
    await until(async () => recordsOf('product.search'), (n) => n >= 20_000, 30);
    const lines = mem.lines.slice(before);
    const jobs = jobLines();
    // Both product indexers drained the 20,000 (a job may split the work with the next one of its indexer).
    expect(recordsOf('product.search')).toBeGreaterThanOrEqual(20_000);
    for (const j of jobs) {
      expect(j).toMatchObject({ level: 'info', task: 'bulksync_index', outcome: 'ok', entity: 'product' });
      expect(String(j.jobId)).toMatch(/^\d+$/);
      expect(j.durationMs).toEqual(expect.any(Number));
    }
    // Every line of the run is small: a payload, or a list of ids, would be hundreds of kilobytes.
    const longest = Math.max(...lines.map((l) => Buffer.byteLength(l)));
    expect(longest).toBeLessThan(2048);
    const text = lines.join('');
    const written: string[] = res.body.data.product;
    for (const id of [written[0]!, written[9_999]!, written[19_999]!]) {
      expect(text).not.toContain(id);
      expect(text).not.toContain(`${id.slice(0, 8)}-${id.slice(8, 12)}`);
    }
    // graphile-worker's own line for a finished job is there too, at debug, with the job's names and no payload.
    const completed = lines.map((l) => JSON.parse(l)).filter((l) => typeof l.message === 'string' && l.message.startsWith('Completed task'));
    expect(completed.length).toBeGreaterThan(0);
    expect(completed[0]).toMatchObject({ level: 'debug', component: 'queue', task: 'bulksync_index' });
    expect(completed[0].payload).toBeUndefined();
    expect(completed[0].job).toBeUndefined();
  }, 180_000);
});

describe('redaction and bounds', () => {
  it('redacts secrets and tokens at any depth, by key and by value, without changing the logged object', () => {
    const m = memoryLogger('info');
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const meta = {
      outer: { inner: { deeper: { clientSecret: 'hunter2-secret-value', list: [{ password: 'pw-in-array' }] } } },
      header: `Bearer ${jwt}`,
      note: `token was ${jwt}`,
      url: 'postgres://bulksync:db-password-1@db.internal:5432/bulksync',
      Authorization: 'Basic dXNlcjpwYXNz',
    };
    m.logger.info('something happened', meta);
    const text = m.lines.join('');
    for (const leaked of ['hunter2-secret-value', 'pw-in-array', jwt, 'db-password-1', 'dXNlcjpwYXNz']) expect(text).not.toContain(leaked);
    const line = m.parsed()[0]!;
    expect(line).toMatchObject({
      outer: { inner: { deeper: { clientSecret: '[redacted]', list: [{ password: '[redacted]' }] } } },
      header: 'Bearer [redacted]',
      note: 'token was [redacted]',
      url: 'postgres://bulksync:[redacted]@db.internal:5432/bulksync',
      Authorization: '[redacted]',
    });
    // The caller's object is untouched: it may be a job or a request body still in use.
    expect(meta.outer.inner.deeper.clientSecret).toBe('hunter2-secret-value');
  });

  it('caps long strings, long arrays and deep objects', () => {
    const m = memoryLogger('info');
    const ids = Array.from({ length: 20_000 }, (_, i) => `id-${i}`);
    m.logger.info('big', { ids, text: 'x'.repeat(100_000), deep: { a: { b: { c: { d: { e: { f: 1 } } } } } } });
    const line = m.parsed()[0]!;
    expect((line.ids as unknown[]).length).toBe(LOG_LIMITS.items + 1);
    expect((line.ids as unknown[])[LOG_LIMITS.items]).toBe('…[20000 items]');
    expect((line.text as string).length).toBeLessThan(LOG_LIMITS.string + 50);
    expect(JSON.stringify(line.deep)).toContain('[object]');
    expect(Buffer.byteLength(m.lines[0]!)).toBeLessThan(4096);
  });
});
