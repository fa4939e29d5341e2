import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { Sql } from '../src/db/sql';
import { loadRegistry } from '../src/definitions/registry';
import { aggregate } from '../src/read/aggregate';
import { parseSearchRequest } from '../src/read/search-request';
import { countSql, pageSql } from '../src/read/sql/search';
import { benchCredentials, TokenSource } from './auth';
import { connect, openBenchDatabase, ROOT, serverVersion } from './db';
import { DOC, fmtInt } from './report';
import { hexId } from './rows';
import { buildServer, startServer } from './server';

/**
 * `npm run bench -- --reads [--products N] [--requests N] [--no-doc]`: a catalog of N products (default 100,000)
 * loaded through the sync endpoint, then each documented read shape sent R times (default 200) one after another,
 * with p50/p99 per shape, EXPLAIN ANALYZE of the slowest shape's statements, and the table in docs/PERFORMANCE.md.
 */
const log = (line: string) => void process.stderr.write(line + '\n');
const COLOURS = ['red', 'blue', 'green', 'black', 'white', 'grey', 'navy', 'olive', 'beige', 'brown'];
const MATERIALS = ['linen', 'cotton', 'wool', 'silk', 'denim', 'leather', 'canvas', 'cashmere', 'fleece', 'hemp'];
const NOUNS = ['shirt', 'trousers', 'jacket', 'dress', 'skirt', 'scarf', 'hat', 'coat', 'sweater', 'shorts',
  'socks', 'belt', 'gloves', 'boots', 'blouse', 'vest', 'hoodie', 'cardigan', 'jeans', 'tie'];
const EUR = 'b7d2554b0ce847cd82f3ac9bd1c0dfca';
const BATCH = 2_000;

interface Catalog {
  products: number;
  ids: string[];
  leaves: string[];
}

function argValue(argv: readonly string[], name: string, fallback: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n < 10) throw new Error(`${name} expects an integer of at least 10`);
  return n;
}

/** A deterministic pseudo-random sequence, so that two runs load the same catalog. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

async function post(baseUrl: string, p: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(baseUrl + p, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

async function load(baseUrl: string, tokens: TokenSource, products: number): Promise<Catalog> {
  const send = async (body: unknown) => {
    const res = await post(baseUrl, '/api/_action/sync', body, { ...(await tokens.headers()), prefer: 'return=minimal' });
    if (res.status !== 200) throw new Error(`sync answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
  };
  const tax = hexId();
  const makers = Array.from({ length: 50 }, (_, i) => ({ id: hexId(), name: `Maker ${i}` }));
  const root = hexId();
  const depts = Array.from({ length: 10 }, (_, i) => ({ id: hexId(), name: `Department ${i}`, parentId: root }));
  const leaves = depts.flatMap((d, i) => Array.from({ length: 10 }, (_, j) => ({ id: hexId(), name: `Category ${i}.${j}`, parentId: d.id })));
  const groups = ['Colour', 'Size', 'Fit'].map((name) => ({ id: hexId(), name, options: Array.from({ length: 10 }, (_, i) => ({ id: hexId(), name: `${name} ${i}`, position: i })) }));
  await send({
    t: { entity: 'tax', action: 'upsert', payload: [{ id: tax, name: 'Standard', taxRate: 19 }] },
    m: { entity: 'product_manufacturer', action: 'upsert', payload: makers },
    c: { entity: 'category', action: 'upsert', payload: [{ id: root, name: 'Catalogue' }, ...depts, ...leaves] },
    g: { entity: 'property_group', action: 'upsert', payload: groups },
  });
  const random = rng(42);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const ids: string[] = [];
  const started = performance.now();
  for (let from = 0; from < products; from += BATCH) {
    const payload = Array.from({ length: Math.min(BATCH, products - from) }, (_, k) => {
      const n = from + k;
      const id = hexId();
      ids.push(id);
      const gross = Math.round(random() * 20000) / 100;
      return {
        id,
        productNumber: `SW-${String(n).padStart(7, '0')}`,
        name: `${pick(COLOURS)} ${pick(MATERIALS)} ${pick(NOUNS)} ${n}`,
        stock: Math.floor(random() * 1000),
        price: [{ currencyId: EUR, gross, net: Math.round((gross / 1.19) * 100) / 100, linked: true }],
        taxId: tax,
        manufacturerId: pick(makers).id,
        categories: [{ id: pick(leaves).id }],
        properties: [{ id: pick(groups[0]!.options).id }, { id: pick(groups[1]!.options).id }],
      };
    });
    await send({ p: { entity: 'product', action: 'upsert', payload } });
    if ((from / BATCH) % 10 === 0) log(`  ${fmtInt(from + payload.length)} products (${fmtInt((from + payload.length) / ((performance.now() - started) / 1000))}/s)`);
  }
  return { products, ids, leaves: leaves.map((l) => l.id) };
}

interface Shape {
  name: string;
  /** The i-th request of the shape. */
  request: (i: number) => { path: string; body?: unknown };
}

function shapes(c: Catalog, deepCursor: string): Shape[] {
  const at = (i: number) => c.ids[(i * 7919) % c.ids.length]!;
  const number = (i: number) => `SW-${String((i * 7919) % c.products).padStart(7, '0')}`;
  const pages = Math.min(200, Math.floor(c.products / 25 / 2));
  const search = (body: unknown) => ({ path: '/api/search/product', body });
  return [
    { name: 'GET /api/product/<id>', request: (i) => ({ path: `/api/product/${at(i)}` }) },
    { name: 'search equals productNumber', request: (i) => search({ filter: [{ type: 'equals', field: 'productNumber', value: number(i) }] }) },
    { name: 'search term "linen shirt", limit 25, exact total', request: () => search({ term: 'linen shirt', limit: 25, 'total-count-mode': 'exact' }) },
    { name: 'search contains name "jack", sort by name, limit 25', request: () => search({ filter: [{ type: 'contains', field: 'name', value: 'jack' }], sort: [{ field: 'name', order: 'ASC' }], limit: 25 }) },
    { name: `search range stock, sort stock desc, page ${pages}`, request: () => search({ filter: [{ type: 'range', field: 'stock', parameters: { gte: 10 } }], sort: [{ field: 'stock', order: 'DESC' }], limit: 25, page: pages }) },
    { name: `the same page by "after" (cursor of page ${pages - 1})`, request: () => search({ filter: [{ type: 'range', field: 'stock', parameters: { gte: 10 } }], sort: [{ field: 'stock', order: 'DESC' }], limit: 25, after: deepCursor }) },
    {
      name: 'category listing: 24 by name, exact total, 3 facets',
      request: (i) =>
        search({
          filter: [{ type: 'equals', field: 'categoryTree', value: c.leaves[i % c.leaves.length] }],
          sort: [{ field: 'name', order: 'ASC' }],
          limit: 24,
          'total-count-mode': 'exact',
          includes: { product: ['id', 'productNumber', 'name', 'price', 'stock'] },
          aggregations: [
            { name: 'manufacturer', type: 'terms', field: 'manufacturerId' },
            { name: 'properties', type: 'terms', field: 'properties.id' },
            { name: 'stock', type: 'stats', field: 'stock' },
          ],
        }),
    },
  ];
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function measure(baseUrl: string, tokens: TokenSource, shape: Shape, requests: number): Promise<number[]> {
  const headers = await tokens.headers();
  const one = async (i: number) => {
    const { path: p, body } = shape.request(i);
    const t0 = performance.now();
    const res = body === undefined ? await fetch(baseUrl + p, { headers }) : await post(baseUrl, p, body, headers);
    await res.text();
    if (res.status !== 200) throw new Error(`${shape.name}: ${res.status}`);
    return performance.now() - t0;
  };
  for (let i = 0; i < 20; i++) await one(i); // warm-up: connections, plans, caches
  const times: number[] = [];
  for (let i = 0; i < requests; i++) times.push(await one(i));
  return times.sort((a, b) => a - b);
}

/** The statements a search sends (page, total, aggregations), run under EXPLAIN ANALYZE; the longest plan. */
async function explain(client: pg.Client, body: Record<string, unknown>): Promise<string> {
  const registry = loadRegistry([path.join(ROOT, 'schemas')]);
  const entity = registry.get('product');
  const parsed = parseSearchRequest(registry, entity, body);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const q = parsed.query;
  const statements: { text: string; params: unknown[] }[] = [];
  const capture = (text: string, params: unknown[]) => statements.push({ text, params });
  const params: unknown[] = [];
  capture(pageSql(q, params), params);
  if (q.totalCount) {
    const p2: unknown[] = [];
    capture(countSql(q, p2), p2);
  }
  const sql: Sql = {
    query: async (text, ps) => (capture(text, [...(ps ?? [])]), { rows: [{}], rowCount: 1 }) as never,
    copyFrom: async () => 0,
    inTransaction: () => false,
  };
  if (q.aggregations.length) await aggregate({ sql, frame: { registry, entity, filters: q.filters } }, q.aggregations);
  let worst = { ms: -1, plan: '' };
  for (const s of statements) {
    const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${s.text}`, s.params);
    const plan = rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
    const ms = Number(/Execution Time: ([\d.]+)/.exec(plan)?.[1] ?? 0);
    if (ms > worst.ms) worst = { ms, plan: `${s.text}\n\n${plan}` };
  }
  return worst.plan;
}

const loadAverage = () => os.loadavg().map((l) => l.toFixed(2)).join(' / ');

export async function runReads(argv: readonly string[]): Promise<void> {
  const products = argValue(argv, '--products', 100_000);
  const requests = argValue(argv, '--requests', 200);
  const db = await openBenchDatabase();
  // The code measured: the commit, marked when the worktree differs from it.
  const commit = execSync('git rev-parse --short HEAD', { cwd: ROOT }).toString().trim() + (execSync('git status --porcelain src', { cwd: ROOT }).toString().trim() ? ' (+ uncommitted changes in src/)' : '');
  const entry = await buildServer(log);
  const credentials = benchCredentials();
  const server = await startServer({ entry, databaseUrl: db.url, env: credentials });
  const client = await connect(db.url);
  try {
    const tokens = new TokenSource(server.baseUrl, credentials.BULKSYNC_ADMIN_CLIENT_SECRET!);
    log(`reads: loading ${fmtInt(products)} products through the sync endpoint`);
    const t0 = performance.now();
    const catalog = await load(server.baseUrl, tokens, products);
    const loadSeconds = (performance.now() - t0) / 1000;
    await client.query('VACUUM ANALYZE');
    const pages = Math.min(200, Math.floor(products / 25 / 2));
    const before = await post(server.baseUrl, '/api/search/product', { filter: [{ type: 'range', field: 'stock', parameters: { gte: 10 } }], sort: [{ field: 'stock', order: 'DESC' }], limit: 25, page: pages - 1 }, await tokens.headers());
    const deepCursor = ((await before.json()) as { next: string }).next;
    const rows: string[] = [];
    let slowest = { p99: -1, shape: undefined as Shape | undefined };
    const loadBefore = loadAverage();
    for (const shape of shapes(catalog, deepCursor)) {
      const times = await measure(server.baseUrl, tokens, shape, requests);
      const p50 = percentile(times, 50);
      const p99 = percentile(times, 99);
      log(`  ${shape.name}: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);
      rows.push(`| ${shape.name} | ${p50.toFixed(1)} | ${p99.toFixed(1)} | ${(times.reduce((a, b) => a + b, 0) / times.length).toFixed(1)} |`);
      if (p99 > slowest.p99 && shape.request(0).body) slowest = { p99, shape };
    }
    const plan = slowest.shape ? await explain(client, slowest.shape.request(0).body as Record<string, unknown>) : '';
    const text = [
      `### Reads — ${new Date().toISOString().slice(0, 19)}Z, ${fmtInt(products)} products, commit ${commit}`,
      '',
      `${(await serverVersion(client)).split(' on ')[0]}, ${os.cpus().length} cores; load average (1 / 5 / 15 min) ${loadBefore} before the measurements, ${loadAverage()} after`,
      `(other engineers' tests and benches share the machine). Catalogue loaded through the sync endpoint in ${loadSeconds.toFixed(0)} s`,
      `(${fmtInt(products / loadSeconds)} products/s, indexing inline): 50 manufacturers, 100 leaf categories under 10 departments (one leaf per product),`,
      `2 of 20 property options per product, names "<colour> <material> <noun> <n>" (one noun in 20 is "jacket", one material in 10 "linen").`,
      `Each shape: 20 warm-up requests, then ${requests} sent one after another over loopback; milliseconds from sending to the last byte read.`,
      '',
      '| shape | p50 ms | p99 ms | mean ms |',
      '| --- | --- | --- | --- |',
      ...rows,
      '',
      `Slowest shape by p99: ${slowest.shape?.name ?? '–'}; its longest statement under EXPLAIN (ANALYZE, BUFFERS):`,
      '',
      '```',
      plan,
      '```',
      '',
    ].join('\n');
    process.stdout.write('\n' + text);
    if (!argv.includes('--no-doc')) {
      // Newest first: before the section's earlier runs, after its introduction.
      const doc = fs.readFileSync(DOC, 'utf8');
      const heading = '## Reads (issue 27)';
      const at = doc.indexOf(heading);
      const earlier = at < 0 ? -1 : doc.indexOf('### Reads — ', at);
      if (at < 0) fs.writeFileSync(DOC, `${doc.trimEnd()}\n\n${heading}\n\n${text}`);
      else if (earlier < 0) fs.writeFileSync(DOC, `${doc.trimEnd()}\n\n${text}`);
      else fs.writeFileSync(DOC, `${doc.slice(0, earlier)}${text}\n${doc.slice(earlier)}`);
      log('reads: recorded in docs/PERFORMANCE.md');
    }
  } finally {
    await client.end().catch(() => undefined);
    await server.stop();
    await db.dispose();
  }
}
