// `npm run bench:preview -- [records]`: the NDJSON preview of a dry run (docs/safe-resyncs.md) of N products
// (default 100,000) that are all stored and all change, streamed in and streamed out: the server's peak RSS growth
// must stay under 256 MB, next to the same dry run without the preview (docs/PERFORMANCE.md).
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { benchCredentials, TokenSource } from './auth';
import { connect, openBenchDatabase } from './db';
import { watchRss } from './memory';
import { hexId, streamedProduct } from './rows';
import { buildServer, startServer } from './server';

const LIMIT_MB = 256;
const log = (line: string) => process.stderr.write(`${line}\n`);
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;

function* body(taxId: string, idPrefix: string, records: number, round: number): Generator<Buffer> {
  let out = JSON.stringify({ operation: { key: 'products', entity: 'product', action: 'upsert' } }) + '\n';
  for (let n = 0; n < records; n++) {
    out += JSON.stringify(streamedProduct(taxId, idPrefix, n, round)) + '\n';
    if (out.length >= 256 * 1024) {
      yield Buffer.from(out);
      out = '';
    }
  }
  yield Buffer.from(out);
}

interface Answer {
  status: number;
  /** Lines of the answer (NDJSON), counted as they stream by, never kept. */
  lines: number;
  first: string;
}

async function post(baseUrl: string, payload: Iterable<Buffer>, headers: Record<string, string>): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request(new URL('/api/_action/sync', baseUrl), { method: 'POST', headers: { 'content-type': 'application/x-ndjson', ...headers } }, (res) => {
      const answer: Answer = { status: res.statusCode ?? 0, lines: 0, first: '' };
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (answer.first.length < 2000) answer.first += c.slice(0, 2000);
        for (let i = c.indexOf('\n'); i >= 0; i = c.indexOf('\n', i + 1)) answer.lines++;
      });
      res.on('end', () => resolve(answer));
      res.on('error', reject);
    });
    req.on('error', reject);
    pipeline(Readable.from(payload), req).catch(reject);
  });
}

async function main(): Promise<void> {
  const records = Number(process.argv[2] ?? 100_000);
  const db = await openBenchDatabase();
  try {
    const entry = await buildServer(log);
    const credentials = benchCredentials();
    const idPrefix = randomBytes(10).toString('hex');
    const taxId = hexId();
    // The first server migrates the database: the tax goes in after it started.
    const storing = await startServer({ entry, databaseUrl: db.url, env: credentials });
    try {
      const client = await connect(db.url);
      await client.query(`INSERT INTO tax (id, name, tax_rate) VALUES ($1, 'Standard rate', 19)`, [taxId]);
      await client.end();
      const auth = await new TokenSource(storing.baseUrl, credentials.BULKSYNC_ADMIN_CLIENT_SECRET!).headers();
      const t0 = performance.now();
      const stored = await post(storing.baseUrl, body(taxId, idPrefix, records, 0), { ...auth, prefer: 'return=minimal' });
      if (stored.status !== 200) throw new Error(`storing the products answered ${stored.status}: ${stored.first}`);
      log(`stored ${records.toLocaleString('en-US')} products in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } finally {
      await storing.stop();
    }
    const results: string[] = [];
    for (const preview of [false, true]) {
      // A fresh server per request: its RSS before the request is the same for both cases.
      const server = await startServer({ entry, databaseUrl: db.url, env: credentials });
      try {
        const auth = await new TokenSource(server.baseUrl, credentials.BULKSYNC_ADMIN_CLIENT_SECRET!).headers();
        const headers = { ...auth, 'dry-run': 'true', prefer: preview ? 'return=minimal, return=representation' : 'return=minimal', ...(preview ? { accept: 'application/x-ndjson' } : {}) };
        const t0 = performance.now();
        const { result, sample } = await watchRss(server.pid, () => post(server.baseUrl, body(taxId, idPrefix, records, 1), headers));
        const s = (performance.now() - t0) / 1000;
        if (result.status !== 200) throw new Error(`the dry run answered ${result.status}: ${result.first}`);
        const growth = sample.peak - sample.before;
        const what = preview ? `NDJSON preview, ${(result.lines - 1).toLocaleString('en-US')} record lines` : 'dry run without preview';
        const line = `${records.toLocaleString('en-US')} products, ${what}: ${s.toFixed(1)} s, RSS ${mb(sample.before)} → peak ${mb(sample.peak)} (+${mb(growth)}, ${sample.source})`;
        log(line);
        if (preview) log(`  first line: ${result.first.split('\n')[0]!.slice(0, 300)}`);
        results.push(line + (preview ? (growth <= LIMIT_MB * 1024 * 1024 ? ` — within ${LIMIT_MB} MB` : ` — OVER ${LIMIT_MB} MB`) : ''));
        if (preview && result.lines - 1 !== records) throw new Error(`expected ${records} record lines, got ${result.lines - 1}`);
      } finally {
        await server.stop();
      }
    }
    log(`\nload average ${os.loadavg().map((l) => l.toFixed(2)).join(', ')} (${os.cpus().length} cores)`);
    for (const r of results) log(r);
  } catch (e) {
    // Logged before the database is dropped: dropping it ends the connections still open, which may crash the process.
    log(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exitCode = 1;
  } finally {
    await db.dispose();
  }
}

void main().catch((e: unknown) => {
  log(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exitCode = 1;
});
