import { execFile } from 'node:child_process';
import http from 'node:http';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import request from 'supertest';
import winston from 'winston';
import { createLogger } from '../../src/observability/logger';
import { flushTraces, startTracing, withSpan } from '../../src/observability/tracing';
import { ROOT, startTestApp, type TestApp } from '../support/app';
import { sync } from '../support/sync';

/** OpenTelemetry traces of a sync, checked against the SDK's in-memory exporter, and sent over OTLP to a collector. */

const run = promisify(execFile);
const lines: string[] = [];
const logger = createLogger('info', { transports: [new winston.transports.Stream({ stream: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) })] });
const exporter = new InMemorySpanExporter();
let tracing: { shutdown(): Promise<void> };
let t: TestApp;

beforeAll(async () => {
  tracing = startTracing({ exporter, serviceName: 'bulksync-test' });
  t = await startTestApp({}, { logger });
});
afterAll(async () => {
  await t?.close();
  await tracing?.shutdown();
});

const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

it('one span per request, with child spans for read, plan, write per entity, indexing and commit, and the trace id in the log line', async () => {
  exporter.reset();
  const res = await sync(t.app, {
    tax: { entity: 'tax', action: 'upsert', payload: [{ name: 'Traced', taxRate: 7 }] },
    cats: { entity: 'category', action: 'upsert', payload: [{ name: 'Traced A' }, { name: 'Traced B' }] },
  }).set('x-request-id', 'traced-request');
  expect(res.status).toBe(200);
  await flushTraces();
  const spans = exporter.getFinishedSpans();
  const root = spans.find((s) => s.name === 'POST /api/_action/sync');
  expect(root).toBeDefined();
  expect(root!.attributes).toMatchObject({ 'http.route': '/api/_action/sync', 'http.response.status_code': 200 });
  const mine = spans.filter((s) => s.spanContext().traceId === root!.spanContext().traceId);
  const byName = (name: string) => mine.filter((s) => s.name === name);
  // Every phase is inside the request's trace, below its span.
  const ids = new Set(mine.map((s) => s.spanContext().spanId));
  for (const s of mine) if (s !== root) expect(ids.has(parentOf(s)!)).toBe(true);
  expect(byName('sync.read')).toHaveLength(1);
  expect(byName('sync.read')[0]!.attributes['bulksync.records']).toBe(3);
  expect(byName('sync.plan').map((s) => [s.attributes['bulksync.entity'], s.attributes['bulksync.records']])).toEqual([
    ['tax', 1],
    ['category', 2],
  ]);
  const writes = byName('sync.write').map((s) => s.attributes['bulksync.entity']);
  expect(writes).toEqual(expect.arrayContaining(['tax', 'category']));
  expect(byName('sync.write').every((s) => typeof s.attributes['bulksync.rows'] === 'number')).toBe(true);
  expect(byName('sync.indexing')).toHaveLength(1);
  expect(byName('sync.commit')).toHaveLength(1);
  const line = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.message === 'request' && l.requestId === 'traced-request');
  expect(line?.traceId).toBe(root!.spanContext().traceId);
});

it('a failed request ends its spans too (its answer is a 400, not an error of the service)', async () => {
  exporter.reset();
  await sync(t.app, { bad: { entity: 'nope', action: 'upsert', payload: [] } }).expect(400);
  await flushTraces();
  const root = exporter.getFinishedSpans().find((s) => s.name === 'POST /api/_action/sync');
  expect(root?.attributes['http.response.status_code']).toBe(400);
});

it('exports to an OTLP/HTTP collector at OTEL_EXPORTER_OTLP_ENDPOINT (a process of its own, as the service runs)', async () => {
  // The OTLP exporter loads its transport with import(), which jest's module sandbox refuses: the real exporter
  // runs in a child process, against a collector of the test's.
  const received: { path: string; bytes: number }[] = [];
  const collector = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      received.push({ path: req.url ?? '', bytes });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', () => r()));
  const { port } = collector.address() as AddressInfo;
  try {
    const script = `const t = require('./src/observability/tracing.ts');
      const tracing = t.startTracing({ endpoint: 'http://127.0.0.1:${port}/', serviceName: 'bulksync-test' });
      t.withSpan('probe', { 'bulksync.records': 1 }, () => 1);
      tracing.shutdown().then(() => console.log('flushed'));`;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, timeout: 60_000 });
    expect(stdout.trim()).toBe('flushed');
    expect(received).toEqual([{ path: '/v1/traces', bytes: expect.any(Number) }]);
    expect(received[0]!.bytes).toBeGreaterThan(0);
  } finally {
    collector.close();
  }
});

it('without tracing, withSpan only calls its function', async () => {
  await tracing.shutdown();
  try {
    expect(withSpan('x', {}, () => 42)).toBe(42);
    await expect(withSpan('x', {}, async () => 'done')).resolves.toBe('done');
    exporter.reset();
    lines.length = 0;
    await sync(t.app, { tax: { entity: 'tax', action: 'upsert', payload: [{ name: 'Untraced', taxRate: 7 }] } }).expect(200);
    expect(exporter.getFinishedSpans()).toEqual([]);
    const line = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.message === 'request');
    expect(line).toBeDefined();
    expect(line).not.toHaveProperty('traceId');
  } finally {
    tracing = startTracing({ exporter, serviceName: 'bulksync-test' });
  }
});
