import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { ROOT, startTestApp, type TestApp } from '../support/app';
import { until } from '../support/poll';
import { createTax, sync } from '../support/sync';
import { products } from '../fixtures/catalog';
import { chunkPaths, metricSample, pathsSince, scrapeMetrics } from '../support/metrics';
import { WRITE_PATHS } from '../../src/observability/observers';

let t: TestApp;
beforeAll(async () => {
  // One failed token request per window: a second one is a 429 (a rejection to count) without limiting other calls.
  t = await startTestApp({ TOKEN_FAILURES_PER_15_MINUTES: '1' });
});
afterAll(() => t.close());

const scrape = () => scrapeMetrics(t.bare);
const sample = metricSample;

describe('GET /metrics', () => {
  it('request duration by method, route pattern and status (401s included), records per request by entity and action', async () => {
    const taxId = await createTax(t.app);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: products(taxId, 5) } }).expect(200);
    await request(t.bare).get('/api/product/0123456789abcdef0123456789abcdef').expect(401);
    const text = await scrape();
    expect(text).toContain('# TYPE bulksync_http_request_duration_seconds histogram');
    expect(sample(text, 'bulksync_http_request_duration_seconds_count', 'method="POST",route="/api/_action/sync",status="200"')).toBe(2);
    expect(sample(text, 'bulksync_http_request_duration_seconds_count', 'method="GET",route="/api/:entity/:id",status="401"')).toBe(1);
    expect(sample(text, 'bulksync_http_request_duration_seconds_bucket', 'le="+Inf",method="GET",route="/api/:entity/:id",status="401"')).toBe(1);
    expect(text).toContain('# TYPE bulksync_sync_records_per_request histogram');
    expect(sample(text, 'bulksync_sync_records_per_request_count', 'entity="product",action="upsert"')).toBe(1);
    expect(sample(text, 'bulksync_sync_records_per_request_sum', 'entity="product",action="upsert"')).toBe(5);
    expect(sample(text, 'bulksync_sync_records_per_request_bucket', 'le="10",entity="product",action="upsert"')).toBe(1);
    expect(sample(text, 'bulksync_sync_records_per_request_bucket', 'le="1",entity="product",action="upsert"')).toBe(0);
    // Existing series keep their names.
    expect(text).toContain('# TYPE bulksync_sync_retries_total counter');
    expect(text).toContain('# TYPE bulksync_rate_limit_rejections_total counter');
    expect(text).toMatch(/bulksync_db_pool_connections\{state="used"\} \d+/);
  });

  it('chunks by the path that wrote them: one checked statement per table, diagnosed after a failed check, looked up from the start', async () => {
    const taxId = await createTax(t.app);
    // Every path is there from the start (at 0 on a fresh process), so that a rate() over it is never "no data".
    const first = await scrape();
    for (const p of WRITE_PATHS) expect(sample(first, 'bulksync_sync_chunks_total', `path="${p}"`)).toEqual(expect.any(Number));
    const before = await chunkPaths(t.bare);
    const stored = products(taxId, 3, 2000);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: stored } }).expect(200);
    // A taxId that names no tax: the statement fails on the foreign key, the chunk is rolled back and looked up.
    const bad = [...products(taxId, 2, 2100), { ...products(taxId, 1, 2200)[0], taxId: '0123456789abcdef0123456789abcdef' }];
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: bad } }).expect(400);
    // Only a stock: not what a new record needs, so its existence is looked up before the write.
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: stored[0]!.id, stock: 7 }] } }).expect(200);
    const after = await chunkPaths(t.bare);
    expect(pathsSince(before, after)).toEqual({ checked: 1, checked_again: 0, diagnosed: 1, looked_up: 1 });
  });

  it('queue depth and oldest pending age per indexer, then job durations once a worker drained them', async () => {
    const taxId = await createTax(t.app);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: products(taxId, 50, 1000) } }, { 'indexing-behavior': 'use-queue-indexing' }).expect(200);
    let text = await scrape();
    expect(sample(text, 'bulksync_indexing_queue_depth', 'indexer="product.search"')).toBe(50);
    expect(sample(text, 'bulksync_indexing_queue_depth', 'indexer="category.tree"')).toBe(0);
    expect(sample(text, 'bulksync_indexing_oldest_pending_seconds', 'indexer="product.search"')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'bulksync_indexing_oldest_pending_seconds', 'indexer="category.tree"')).toBe(0);
    expect(text).toMatch(/bulksync_indexing_ids\{state="pending"\} \d+/);

    await t.startWorker();
    text = await until(scrape, (s) => sample(s, 'bulksync_indexing_queue_depth', 'indexer="product.search"') === 0, 60);
    expect(sample(text, 'bulksync_indexing_queue_depth', 'indexer="product.search"')).toBe(0);
    text = await until(scrape, (s) => (sample(s, 'bulksync_indexing_records_total', 'indexer="product.search"') ?? 0) >= 50, 30);
    expect(sample(text, 'bulksync_indexing_records_total', 'indexer="product.search"')).toBe(50);
    expect(sample(text, 'bulksync_indexing_job_duration_seconds_count', 'task="bulksync_index",indexer="product.search",outcome="ok"')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'bulksync_indexing_oldest_pending_seconds', 'indexer="product.search"')).toBe(0);
  });
});

describe('docs/grafana-dashboard.json', () => {
  it('names no bulksync_ series anywhere (titles and descriptions included) that /metrics does not export', async () => {
    const dashboard = fs.readFileSync(path.join(ROOT, 'docs/grafana-dashboard.json'), 'utf8');
    const named = [...new Set([...dashboard.matchAll(/\bbulksync_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')))];
    const exported = new Set([...(await scrape()).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    expect(named.filter((name) => !exported.has(name))).toEqual([]);
  });

  it('queries only metrics that GET /metrics exposes, with labels they have', async () => {
    const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs/grafana-dashboard.json'), 'utf8'));
    const exprs: string[] = dashboard.panels.flatMap((p: { targets?: { expr: string }[] }) => (p.targets ?? []).map((x) => x.expr));
    expect(exprs.length).toBeGreaterThan(10);
    for (const status of [401, 429]) await request(t.bare).post('/api/oauth/token').send({ grant_type: 'client_credentials', client_id: 'nobody', client_secret: 'wrong-secret' }).expect(status);
    const text = await scrape();
    expect(sample(text, 'bulksync_rate_limit_rejections_total', 'route="/api/oauth/token"')).toBe(1);
    const families = new Map<string, Set<string>>();
    for (const line of text.split('\n')) {
      const m = /^(bulksync_\w+?)(?:_bucket|_sum|_count)?\{(.*)\} /.exec(line) ?? /^(bulksync_\w+) /.exec(line);
      if (!m) continue;
      const labels = families.get(m[1]!) ?? new Set<string>();
      for (const l of (m[2] ?? '').matchAll(/(\w+)="/g)) labels.add(l[1]!);
      families.set(m[1]!, labels);
    }
    const typed = new Set([...text.matchAll(/^# TYPE (bulksync_\w+) /gm)].map((m) => m[1]!));
    for (const expr of exprs) {
      for (const [, name] of expr.matchAll(/\b(bulksync_\w+)/g)) {
        const family = name!.replace(/_(bucket|sum|count)$/, '');
        expect({ expr, family, exposed: typed.has(family) }).toEqual({ expr, family, exposed: true });
      }
      // Every label a query groups or filters by is one its metric has (le and instance come from Prometheus).
      const metric = /\b(bulksync_\w+)/.exec(expr)![1]!.replace(/_(bucket|sum|count)$/, '');
      const used = [...expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((s) => s.trim()));
      for (const label of used.filter((l) => l !== 'le' && l !== 'instance')) {
        expect({ expr, label, known: families.get(metric)?.has(label) ?? false }).toEqual({ expr, label, known: true });
      }
    }
  });
});
