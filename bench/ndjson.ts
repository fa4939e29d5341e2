import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { TokenSource } from './auth';
import { cpuSpent, sampleCpu } from './cpu';
import { resetTables, settle } from './db';
import { watchRss, type RssSample } from './memory';
import { rawCopyStreamed } from './raw';
import type { Pass } from './report';
import { PRODUCT_COLUMNS, PRODUCT_TRANSLATION_COLUMNS, productCells, productTranslationCells, streamedProduct, type Product } from './rows';
import { startServer } from './server';

/**
 * The huge-import case of issue 15: one `application/x-ndjson` request of N products with `Prefer: return=minimal`
 * (docs/sync-api.md, "NDJSON"), its time next to raw COPY of the same rows, and the server's peak RSS growth,
 * which must not grow with the body. The body is streamed from a generator: the bench client never holds the records.
 * Each request goes to a fresh server process, so that its RSS before the request is the same for every size (a
 * server that served a large request before keeps the heap it grew).
 */

export interface NdjsonMeasurement {
  records: number;
  pass: Pass;
  bodyBytes: number;
  /** Endpoint: ms from the first byte sent to the answer read. */
  ms: number;
  /** raw COPY (streamed, one transaction) of the same rows, ms. */
  rawMs: number;
  memory: RssSample;
  /** CPU ms of the endpoint's request: the server process and PostgreSQL's backends (Linux /proc). */
  cpu?: { service?: number; postgres: number };
}

export interface NdjsonReport {
  measurements: NdjsonMeasurement[];
  /** Why the case did not run (a server without NDJSON bodies yet), or why it stopped. */
  skipped?: string;
}

export interface NdjsonContext {
  client: pg.Client;
  entry: string;
  databaseUrl: string;
  env: Record<string, string>;
  /** The bench's running server, asked once whether it takes NDJSON at all. */
  baseUrl: string;
  tokens: TokenSource;
  secret: string;
  taxId: string;
  /** Indexing and other headers of the timed requests. */
  headers: Record<string, string>;
  log: (line: string) => void;
}

const OPERATION = { operation: { key: 'products', entity: 'product', action: 'upsert' } };

/** Bytes sent per chunk of the body. */
const CHUNK_BYTES = 256 * 1024;

function* ndjsonBody(products: () => Iterable<Product>, sent: { bytes: number }): Generator<Buffer> {
  let out = JSON.stringify(OPERATION) + '\n';
  for (const p of products()) {
    out += JSON.stringify(p) + '\n';
    if (out.length >= CHUNK_BYTES) {
      const b = Buffer.from(out);
      sent.bytes += b.length;
      yield b;
      out = '';
    }
  }
  const b = Buffer.from(out);
  sent.bytes += b.length;
  yield b;
}

interface Answer {
  status: number;
  text: string;
}

/** POSTs a streamed body to the sync endpoint (node:http: no client-side timeout on a long request). */
async function post(baseUrl: string, body: Iterable<Buffer>, headers: Record<string, string>): Promise<Answer> {
  const url = new URL('/api/_action/sync', baseUrl);
  return new Promise<Answer>((resolve, reject) => {
    let answered = false;
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', prefer: 'return=minimal', ...headers } }, (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (text.length < 1_000_000) text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      // A server that refuses the body early (415, 413) may close before it is all sent: its answer, when it comes,
      // is what counts.
      if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET') reject(e);
      else setTimeout(() => answered || reject(e), 2000).unref();
    });
    pipeline(Readable.from(body), req).catch(() => undefined);
  });
}

function products(taxId: string, idPrefix: string, count: number, round: number): () => Iterable<Product> {
  return function* () {
    for (let n = 0; n < count; n++) yield streamedProduct(taxId, idPrefix, n, round);
  };
}

/** The number of products the `return=minimal` answer counts, or a message saying what was wrong with it. */
function countedProducts(a: Answer): number | string {
  if (a.status !== 200) return `answered ${a.status}: ${a.text.slice(0, 400)}`;
  try {
    const body = JSON.parse(a.text) as { counts?: { data?: Record<string, number> } };
    const n = body.counts?.data?.product;
    return typeof n === 'number' ? n : `answered 200 without counts.data.product (is Prefer: return=minimal built?): ${a.text.slice(0, 400)}`;
  } catch {
    return `answered 200 with a body that is not JSON: ${a.text.slice(0, 200)}`;
  }
}

/**
 * Whether the server takes NDJSON bodies: a body of one record. 415 or 400 (a server whose sync reads JSON only)
 * skips the case with the server's own words.
 */
async function probe(ctx: NdjsonContext): Promise<string | undefined> {
  const one = products(ctx.taxId, randomBytes(10).toString('hex'), 1, 0);
  const a = await post(ctx.baseUrl, ndjsonBody(() => [...one()].map((p) => ({ ...p, productNumber: 'NDJSON-PROBE' })), { bytes: 0 }), {
    ...ctx.headers,
    ...(await ctx.tokens.headers()),
  });
  if (a.status === 415 || a.status === 400) {
    let why = a.text.slice(0, 300);
    try {
      const e = (JSON.parse(a.text) as { errors?: { code?: string; detail?: string }[] }).errors?.[0];
      if (e) why = `${e.code ?? ''}: ${e.detail ?? ''}`;
    } catch {
      // the raw text says it
    }
    return `the server answered ${a.status} to a one-record application/x-ndjson body (${why}); NDJSON bodies come with issue 15's streaming pipeline — run the full bench again once they are merged`;
  }
  const counted = countedProducts(a);
  return typeof counted === 'number' ? undefined : `the one-record NDJSON probe ${counted}`;
}

/** Runs the NDJSON case for each size (smallest first): raw COPY, then the endpoint on a fresh server, both passes. */
export async function runNdjson(ctx: NdjsonContext, sizes: readonly number[]): Promise<NdjsonReport> {
  const skipped = await probe(ctx);
  if (skipped) {
    ctx.log(`ndjson: skipped: ${skipped}`);
    return { measurements: [], skipped };
  }
  const measurements: NdjsonMeasurement[] = [];
  for (const records of sizes) {
    const idPrefix = randomBytes(10).toString('hex');
    const rawMs = new Map<Pass, number>();
    await resetTables(ctx.client);
    for (const [round, pass] of (['insert', 'update'] as const).entries()) {
      await settle(ctx.client);
      const t0 = performance.now();
      // The same rows the endpoint writes: each product and its translation row (name, description), each table's
      // rows made again from the same generator.
      const rows = function* <T>(cells: (p: Product) => T) {
        for (const p of products(ctx.taxId, idPrefix, records, round)()) yield cells(p);
      };
      await rawCopyStreamed(ctx.client, [
        { write: { table: 'product', columns: PRODUCT_COLUMNS, key: ['id'], onConflict: 'update' }, rows: rows(productCells) },
        {
          write: { table: 'product_translation', columns: PRODUCT_TRANSLATION_COLUMNS, key: ['product_id', 'language_id'], onConflict: 'update' },
          rows: rows(productTranslationCells),
        },
      ]);
      rawMs.set(pass, performance.now() - t0);
      ctx.log(`  ndjson ${records.toLocaleString('en-US')} · raw COPY (streamed) · ${pass}: ${(rawMs.get(pass)! / 1000).toFixed(2)} s`);
    }
    await resetTables(ctx.client);
    for (const [round, pass] of (['insert', 'update'] as const).entries()) {
      await settle(ctx.client);
      const server = await startServer({ entry: ctx.entry, databaseUrl: ctx.databaseUrl, env: ctx.env });
      try {
        const tokens = new TokenSource(server.baseUrl, ctx.secret);
        const headers = { ...ctx.headers, ...(await tokens.headers()) };
        const sent = { bytes: 0 };
        const cpuBefore = await sampleCpu(ctx.client, server.pid);
        const t0 = performance.now();
        const { result, sample } = await watchRss(server.pid, () => post(server.baseUrl, ndjsonBody(products(ctx.taxId, idPrefix, records, round), sent), headers));
        const ms = performance.now() - t0;
        const cpu = cpuSpent(cpuBefore, await sampleCpu(ctx.client, server.pid));
        const counted = countedProducts(result);
        if (counted !== records) {
          const why = `the ${records.toLocaleString('en-US')}-record NDJSON request (${pass}) ${typeof counted === 'number' ? `counted ${counted} products` : counted}`;
          ctx.log(`ndjson: stopped: ${why}`);
          if (server.stderrTail.length) ctx.log(`ndjson: the server's last log lines:\n${server.stderrTail.slice(-10).join('\n')}`);
          return { measurements, skipped: why };
        }
        measurements.push({ records, pass, bodyBytes: sent.bytes, ms, rawMs: rawMs.get(pass)!, memory: sample, cpu });
        const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
        ctx.log(
          `  ndjson ${records.toLocaleString('en-US')} · endpoint 1 request · ${pass}: ${(ms / 1000).toFixed(2)} s, body ${mb(sent.bytes)}, ` +
            `RSS ${mb(sample.before)} → peak ${mb(sample.peak)} (+${mb(sample.peak - sample.before)})`,
        );
      } finally {
        await server.stop();
      }
    }
  }
  return { measurements };
}
