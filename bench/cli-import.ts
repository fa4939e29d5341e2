/**
 * `npm run bench:cli-import -- [rows] [rounds]`: a CSV import through `bulksync import` against the same records
 * sent as ready-made batches through the client (src/client), each into a fresh service (its own new database),
 * alternating which goes first. Same batch size (1,000) and concurrency (2) for both; the difference is what the
 * CLI adds: reading and parsing the file, converting cells by field kind, the checkpoint. Also the CLI's peak RSS
 * for the full file and for a tenth of it (memory must not grow with the file).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import PQueue from 'p-queue';
import { BulksyncClient } from '../src/client';
import { openBenchDatabase, ROOT } from './db';
import { makeProducts, type Product } from './rows';
import { buildServer, startServer } from './server';

const ROWS = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.argv[3] ?? 1);
const BATCH = 1000;
const CONCURRENCY = 2;
const ADMIN = { clientId: 'bench-admin', clientSecret: 'bench-admin-secret' };
const TAX = '0189bf2a627a7296adbc83527ba9ac29';
const COLUMNS = ['id', 'productNumber', 'name', 'description', 'stock', 'price', 'taxId', 'active', 'ean', 'weight'] as const;

function csvCell(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function writeCsv(file: string, products: Product[]): void {
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, COLUMNS.join(',') + '\n');
  for (let i = 0; i < products.length; i += 1000) {
    fs.writeSync(fd, products.slice(i, i + 1000).map((p) => COLUMNS.map((c) => csvCell(p[c])).join(',')).join('\n') + '\n');
  }
  fs.closeSync(fd);
}

async function freshService(entry: string) {
  const db = await openBenchDatabase();
  const server = await startServer({ entry, databaseUrl: db.url, env: { BULKSYNC_ADMIN_CLIENT_ID: ADMIN.clientId, BULKSYNC_ADMIN_CLIENT_SECRET: ADMIN.clientSecret } });
  const client = new BulksyncClient({ url: server.baseUrl, ...ADMIN });
  await client.sync([{ entity: 'tax', action: 'upsert', payload: [{ id: TAX, name: 'Standard rate', taxRate: 19 }] }]);
  return { client, server, dispose: async () => { await server.stop(); await db.dispose(); } };
}

async function viaClient(client: BulksyncClient, products: Product[]): Promise<number> {
  const queue = new PQueue({ concurrency: CONCURRENCY });
  const started = Date.now();
  for (let i = 0; i < products.length; i += BATCH) {
    const payload = products.slice(i, i + BATCH) as unknown as Record<string, unknown>[];
    await queue.onSizeLessThan(1);
    void queue.add(() => client.syncRecords({ entity: 'product', action: 'upsert', payload }, { idempotencyKey: `bench-${i}` }));
  }
  await queue.onIdle();
  return Date.now() - started;
}

/** Runs the CLI on `file`; answers its wall time and its peak RSS (VmHWM, read from /proc while it runs). */
async function viaCli(baseUrl: string, file: string): Promise<{ ms: number; peakMb: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/bulksync.js'), 'import', file, '--entity', 'product', '--batch', String(BATCH), '--concurrency', String(CONCURRENCY), '--quiet'], {
    env: { ...process.env, BULKSYNC_URL: baseUrl, BULKSYNC_CLIENT_ID: ADMIN.clientId, BULKSYNC_CLIENT_SECRET: ADMIN.clientSecret },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  let peakKb = 0;
  const timer = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {
      // exited
    }
  }, 100);
  const code = await new Promise<number | null>((r) => child.once('close', r));
  clearInterval(timer);
  if (code !== 0) throw new Error(`bulksync import exited ${code}:\n${err}`);
  return { ms: Date.now() - started, peakMb: Math.round(peakKb / 1024) };
}

async function main(): Promise<void> {
  const log = (l: string) => process.stdout.write(l + '\n');
  const entry = await buildServer(log);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulksync-bench-cli-'));
  const products = makeProducts(TAX, ROWS);
  const file = path.join(dir, 'products.csv');
  const small = path.join(dir, 'products-small.csv');
  writeCsv(file, products);
  writeCsv(small, products.slice(0, Math.round(ROWS / 10)));
  log(`rows ${ROWS}, csv ${(fs.statSync(file).size / 1e6).toFixed(1)} MB, batch ${BATCH}, concurrency ${CONCURRENCY}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const results: { round: number; method: string; ms: number; peakMb?: number }[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 ? ['client', 'cli'] : ['cli', 'client'];
    for (const method of order) {
      const svc = await freshService(entry);
      try {
        if (method === 'client') results.push({ round, method, ms: await viaClient(svc.client, products) });
        else results.push({ round, method, ...(await viaCli(svc.server.baseUrl, file)) });
      } finally {
        await svc.dispose();
      }
      const r = results.at(-1)!;
      log(`round ${round} ${method}: ${(r.ms / 1000).toFixed(1)} s, ${Math.round(ROWS / (r.ms / 1000))} records/s${r.peakMb ? `, CLI peak RSS ${r.peakMb} MB` : ''}, load ${os.loadavg()[0]!.toFixed(1)}`);
    }
  }
  const svc = await freshService(entry);
  try {
    const tenth = await viaCli(svc.server.baseUrl, small);
    log(`cli on ${Math.round(ROWS / 10)} rows: peak RSS ${tenth.peakMb} MB`);
  } finally {
    await svc.dispose();
  }
  const total = (m: string) => results.filter((r) => r.method === m).reduce((sum, r) => sum + r.ms, 0);
  for (let round = 1; round <= ROUNDS; round++) {
    const ms = (m: string) => results.find((r) => r.round === round && r.method === m)!.ms;
    log(`round ${round}: cli speed = ${(ms('client') / ms('cli')).toFixed(2)} x the client's`);
  }
  log(`all rounds: client ${(total('client') / 1000).toFixed(1)} s, cli ${(total('cli') / 1000).toFixed(1)} s; cli speed = ${(total('client') / total('cli')).toFixed(2)} x the client's`);
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
