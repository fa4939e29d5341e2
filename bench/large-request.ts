import { execFileSync } from 'node:child_process';
import type pg from 'pg';
import { benchCredentials, TokenSource } from './auth';
import { runDataSet } from './cases';
import { connect, openBenchDatabase } from './db';
import { runNdjson } from './ndjson';
import { indexingHeaders } from './options';
import { productWrites } from './raw';
import { fmtInt, type Measurement } from './report';
import { changed, hexId, makeProducts } from './rows';
import { buildServer, startServer, type ServerProcess } from './server';

/**
 * `npx tsx bench/large-request.ts [--records N] [--rounds N] [--no-ndjson | --ndjson-only]`: only the cases whose time per record
 * grows with the table — N flat products in one request (insert and update, beside raw unnest and raw COPY of the
 * same rows) and one NDJSON request of N products — for comparing two versions of the write path on a busy machine
 * without the full bench's hour. Prints one line per case and the load average before and after; writes no doc.
 */

const log = (line: string): void => {
  process.stderr.write(line + '\n');
};

function loadAverage(): string {
  return execFileSync('uptime', { encoding: 'utf8' }).replace(/.*load average:\s*/, '').trim();
}

function argValue(argv: readonly string[], flag: string, fallback: number): number {
  const i = argv.indexOf(flag);
  const n = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} expects a positive integer`);
  return n;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** CPU µs per record (medians over rounds): PostgreSQL's backends, and the service when it ran. */
function cpuLine(cpu: readonly { service?: number; postgres: number }[] | undefined, records: number): string {
  const per = (xs: number[]) => `${((median(xs) * 1000) / records).toFixed(1)} µs`;
  const service = (cpu ?? []).map((c) => c.service).filter((x): x is number => x !== undefined);
  return `PostgreSQL CPU ${cpu?.length ? per(cpu.map((c) => c.postgres)) : '–'}/record${service.length ? `, service CPU ${per(service)}/record` : ''}`;
}

function summary(ms: readonly Measurement[]): string[] {
  const lines: string[] = [];
  for (const pass of ['insert', 'update'] as const) {
    const of = ms.filter((m) => m.pass === pass);
    const best = Math.min(...of.filter((m) => m.raw).map((m) => median(m.rounds)));
    for (const m of of) {
      const s = median(m.rounds);
      lines.push(`${m.group} · ${pass} · ${m.method}: ${(s / 1000).toFixed(2)} s, ÷ best raw ${(best / s).toFixed(2)}×, ${cpuLine(m.cpu, m.records)}`);
    }
  }
  return lines;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const records = argValue(argv, '--records', 100_000);
  const rounds = argValue(argv, '--rounds', 1);
  const loadBefore = loadAverage();
  const db = await openBenchDatabase();
  let server: ServerProcess | undefined;
  let client: pg.Client | undefined;
  try {
    const entry = await buildServer(log);
    const credentials = benchCredentials();
    server = await startServer({ entry, databaseUrl: db.url, env: credentials });
    const tokens = new TokenSource(server.baseUrl, credentials.BULKSYNC_ADMIN_CLIENT_SECRET!);
    client = await connect(db.url);
    const taxId = hexId();
    await client.query(`INSERT INTO tax (id, name, tax_rate) VALUES ($1, 'Standard rate', 19)`, [taxId]);
    const indexing = indexingHeaders('disabled');
    const headers = async () => ({ ...indexing, ...(await tokens.headers()) });
    const ctx = { client, baseUrl: server.baseUrl, serverPid: server.pid, rounds, headers, indexingSeen: new Set<string>(), log };
    const lines: string[] = [];
    if (!argv.includes('--ndjson-only')) {
      const inserted = makeProducts(taxId, records);
      const updated = inserted.map((p) => changed(p, 1));
      const measurements = await runDataSet(ctx, {
        group: `flat ${fmtInt(records)}`,
        records,
        raw: { insert: productWrites(inserted), update: productWrites(updated) },
        api: { insert: inserted, update: updated },
        requestSizes: [records],
        match: 'id',
      });
      lines.push(...summary(measurements));
    }
    if (!argv.includes('--no-ndjson')) {
      const ndjson = await runNdjson(
        { client, entry, databaseUrl: db.url, env: credentials, baseUrl: server.baseUrl, tokens, secret: credentials.BULKSYNC_ADMIN_CLIENT_SECRET!, taxId, headers: indexing, log },
        [records],
      );
      for (const m of ndjson.measurements) {
        lines.push(`ndjson ${fmtInt(m.records)} · ${m.pass}: endpoint ${(m.ms / 1000).toFixed(2)} s, raw COPY streamed ${(m.rawMs / 1000).toFixed(2)} s, ÷ raw ${(m.rawMs / m.ms).toFixed(2)}×, ${cpuLine(m.cpu ? [m.cpu] : undefined, m.records)}`);
      }
      if (ndjson.skipped) lines.push(`ndjson: ${ndjson.skipped}`);
    }
    lines.push(`load average: ${loadBefore} at the start, ${loadAverage()} at the end (nproc 2)`);
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await client?.end();
    await server?.stop();
    await db.dispose();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
