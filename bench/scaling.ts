import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import type pg from 'pg';
import { benchCredentials, TokenSource } from './auth';
import { connect, deadlockCount, openBenchDatabase, resetTables, serverVersion, settle } from './db';
import { percentile } from './load';
import { indexingHeaders } from './options';
import { environment, environmentText, fmtInt } from './report';
import { changed, hexId, makeProduct, syncBody, type Product } from './rows';
import { buildServer, startServer, type ServerProcess } from './server';

/**
 * `npm run bench:scaling`: does a second API process on the same primary write more? `clients` concurrent clients
 * send `batch`-record product upserts (indexing-behavior: disable-indexing, the write path alone) for `seconds`,
 * spread round-robin over 1, then 2 API processes (WORKER=off, one shared BULKSYNC_TOKEN_SECRET) on one database.
 * Each client writes keys of its own, so lock waits between clients do not blur the answer: what limits is CPU
 * and the primary. Two passes per setup: inserts of new products, then updates of the ones a client inserted.
 * Prints a Markdown table (copied into docs/SCALING.md by hand).
 */

interface Options {
  clients: number;
  batch: number;
  seconds: number;
  processes: number[];
}

const USAGE = `usage: npm run bench:scaling -- [--clients N] [--batch N] [--seconds N] [--processes 1,2]
  --clients N      concurrent clients (default 8)
  --batch N        records per request (default 1000)
  --seconds N      duration of each pass (default 20)
  --processes L    API process counts to compare (default 1,2)`;

function parseOptions(argv: readonly string[]): Options {
  const opts: Options = { clients: 8, batch: 1000, seconds: 20, processes: [1, 2] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[++i];
    const n = Number(value);
    if (flag === '--processes') {
      const list = (value ?? '').split(',').map(Number);
      if (!list.length || list.some((p) => !Number.isInteger(p) || p < 1)) throw new Error(`--processes expects a list such as 1,2\n${USAGE}`);
      opts.processes = list;
      continue;
    }
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} expects a positive integer, got ${value ?? 'nothing'}\n${USAGE}`);
    if (flag === '--clients') opts.clients = n;
    else if (flag === '--batch') opts.batch = n;
    else if (flag === '--seconds') opts.seconds = n;
    else throw new Error(`unknown option ${flag}\n${USAGE}`);
  }
  return opts;
}

const log = (line: string): void => void process.stderr.write(line + '\n');

const TICKS = 100; // USER_HZ on Linux

/** utime, stime, cutime, cstime (clock ticks) and the parent pid of a process, from /proc (Linux). */
function procStat(pid: number | string): { ticks: number; reaped: number; ppid: number } | undefined {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return { ticks: Number(fields[11]) + Number(fields[12]), reaped: Number(fields[13]) + Number(fields[14]), ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of the PostgreSQL server the bench writes to (all its databases: it may be shared): the postmaster,
 * its live children, and what it reaped from children that ended (so a connection closing mid-pass keeps its time).
 * NaN when the server is not on this machine or its pid file cannot be read.
 */
function postgresCpuSeconds(postmaster: number | undefined): number {
  if (postmaster === undefined) return NaN;
  const own = procStat(postmaster);
  if (!own) return NaN;
  let total = own.ticks + own.reaped;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = procStat(entry);
    if (child?.ppid === postmaster) total += child.ticks;
  }
  return total / TICKS;
}

/** The postmaster's pid, from postmaster.pid in the data directory (needs superuser and the same machine). */
async function postmasterPid(client: pg.Client): Promise<number | undefined> {
  try {
    const { rows } = await client.query<{ dir: string }>(`SELECT current_setting('data_directory') AS dir`);
    return Number(fs.readFileSync(`${rows[0]!.dir}/postmaster.pid`, 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
}

interface PassResult {
  processes: number;
  pass: 'insert' | 'update';
  seconds: number;
  requests: number;
  failed: Map<string, number>;
  recordsPerSecond: number;
  p50: number;
  p99: number;
  /** CPU seconds per wall second: the API processes together, and PostgreSQL. */
  apiCpu: number;
  pgCpu: number;
  /** This process (making bodies, reading answers): it shares the cores too. */
  benchCpu: number;
  /** 1-minute load average at the end of the pass: other work on the machine shows here. */
  loadAverage: number;
  deadlocks: number;
}

/** What a pass runs against; `owned` keeps each client's inserted products for its update pass. */
interface PassContext {
  servers: ServerProcess[];
  headers: Record<string, string>;
  opts: Options;
  owned: Product[][];
  taxId: string;
  postmaster: number | undefined;
}

async function runPass(ctx: PassContext, pass: 'insert' | 'update'): Promise<Omit<PassResult, 'processes' | 'deadlocks'>> {
  const { servers, headers, opts, owned, taxId, postmaster } = ctx;
  const latencies: number[] = [];
  const failed = new Map<string, number>();
  let ok = 0;
  let round = 0;
  const cpuBefore = servers.map((s) => cpuTicks(s.pid));
  const pgBefore = postgresCpuSeconds(postmaster);
  const benchBefore = process.cpuUsage();
  const started = performance.now();
  const end = started + opts.seconds * 1000;
  await Promise.all(
    Array.from({ length: opts.clients }, async (_, client) => {
      const server = servers[client % servers.length]!;
      let mine = 0;
      while (performance.now() < end) {
        round++;
        let records: Product[];
        if (pass === 'insert') {
          records = Array.from({ length: opts.batch }, (_, i) => makeProduct(taxId, round * opts.batch + i));
          owned[client]!.push(...records);
        } else {
          // Updates cycle through the client's own products: no two clients touch the same row.
          const list = owned[client]!;
          records = Array.from({ length: Math.min(opts.batch, list.length) }, (_, i) => changed(list[(mine + i) % list.length]!, round % 50));
          mine += opts.batch;
        }
        const t0 = performance.now();
        const res = await fetch(`${server.baseUrl}/api/_action/sync`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: syncBody('product', records),
        });
        const text = await res.text();
        latencies.push(performance.now() - t0);
        if (res.status === 200) ok++;
        else {
          const key = `${res.status} ${text.slice(0, 80)}`;
          failed.set(key, (failed.get(key) ?? 0) + 1);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const apiTicks = servers.reduce((sum, s, i) => sum + cpuTicks(s.pid) - cpuBefore[i]!, 0);
  return {
    pass,
    seconds,
    requests: latencies.length,
    failed,
    recordsPerSecond: (ok * opts.batch) / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    apiCpu: apiTicks / TICKS / seconds,
    pgCpu: (postgresCpuSeconds(postmaster) - pgBefore) / seconds,
    benchCpu: (({ user, system }) => (user + system) / 1e6 / seconds)(process.cpuUsage(benchBefore)),
    loadAverage: os.loadavg()[0]!,
  };
}

function cpuTicks(pid: number): number {
  return procStat(pid)?.ticks ?? NaN;
}

function table(results: PassResult[], opts: Options): string {
  const rows = results.map(
    (r) =>
      `| ${r.processes} | ${r.pass} | ${fmtInt(r.recordsPerSecond)} | ${fmtInt(r.p50)} | ${fmtInt(r.p99)} | ${r.apiCpu.toFixed(2)} | ${r.pgCpu.toFixed(2)} | ${r.benchCpu.toFixed(2)} | ${fmtInt((r.apiCpu / r.recordsPerSecond) * 1e6)} | ${fmtInt((r.pgCpu / r.recordsPerSecond) * 1e6)} | ${r.requests} | ${
        [...r.failed].map(([k, n]) => `${n}× ${k}`).join('; ') || '0'
      } | ${r.deadlocks} | ${r.loadAverage.toFixed(1)} |`,
  );
  return [
    `${opts.clients} clients × ${fmtInt(opts.batch)}-record product upserts, indexing-behavior: disable-indexing, ${opts.seconds} s per pass`,
    '',
    '| API processes | pass | records/s | p50 ms | p99 ms | API CPU (cores) | PostgreSQL server CPU (cores) | bench client CPU | API CPU ms per 1,000 records | PostgreSQL CPU ms per 1,000 records | requests | non-200 | deadlocks | load average |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |',
    ...rows,
  ].join('\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opts = parseOptions(argv);
  const db = await openBenchDatabase();
  const servers: ServerProcess[] = [];
  const client = await connect(db.url);
  try {
    log('bench:scaling: compiling src/ into .bench/dist');
    const entry = await buildServer(log);
    const credentials = benchCredentials();
    // Shared by every process, so a token from one is valid at the others (as behind a load balancer).
    const env = { ...credentials, BULKSYNC_TOKEN_SECRET: randomBytes(32).toString('hex'), WORKER: 'off' };
    const environmentLine = environment(await serverVersion(client), db.origin, argv);
    const taxId = hexId();
    const postmaster = await postmasterPid(client);
    const results: PassResult[] = [];
    for (const processes of opts.processes) {
      // The first process migrates; the others start after it, on the migrated database.
      while (servers.length < processes) servers.push(await startServer({ entry, databaseUrl: db.url, env }));
      while (servers.length > processes) await servers.pop()!.stop();
      await resetTables(client);
      await client.query(`INSERT INTO tax (id, name, tax_rate) VALUES ($1, 'Standard rate', 19) ON CONFLICT DO NOTHING`, [taxId]);
      const tokens = new TokenSource(servers[0]!.baseUrl, credentials.BULKSYNC_ADMIN_CLIENT_SECRET!);
      const headers = { ...indexingHeaders('disabled'), ...(await tokens.headers()) };
      const ctx: PassContext = { servers, headers, opts, owned: Array.from({ length: opts.clients }, () => []), taxId, postmaster };
      for (const pass of ['insert', 'update'] as const) {
        await settle(client);
        const deadlocksBefore = await deadlockCount(client);
        log(`bench:scaling: ${processes} API process(es), ${pass}: ${opts.clients} clients × ${opts.batch} records for ${opts.seconds} s`);
        const r = await runPass(ctx, pass);
        await new Promise((res) => setTimeout(res, 1500)); // statistics reach pg_stat_database with a delay
        const result = { ...r, processes, deadlocks: (await deadlockCount(client)) - deadlocksBefore };
        log(`  ${fmtInt(result.recordsPerSecond)} records/s, p50 ${fmtInt(result.p50)} ms, API CPU ${result.apiCpu.toFixed(2)}, PostgreSQL CPU ${result.pgCpu.toFixed(2)}`);
        results.push(result);
      }
    }
    process.stdout.write(`\n${environmentText({ ...environmentLine, command: ['npm run bench:scaling', ...(argv.length ? ['--', ...argv] : [])].join(' ') })}\n\n${table(results, opts)}\n`);
  } finally {
    await client.end().catch(() => undefined);
    for (const s of servers) await s.stop();
    await db.dispose();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:scaling failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
