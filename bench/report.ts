import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './db';
import type { LoadResult } from './load';
import type { NdjsonMeasurement, NdjsonReport } from './ndjson';
import { MATCH_LABEL, type MatchMode } from './rows';
import { WRITE_PATHS } from '../src/observability/observers';

/** insert, update (5 of 10 fields changed), and unchanged: the update pass's records sent once more, as stored. */
export type Pass = 'insert' | 'update' | 'unchanged';

export interface Measurement {
  /** The data set, e.g. "flat 10,000". */
  group: string;
  /** "raw unnest", "raw COPY" or the endpoint with its request shape, e.g. "endpoint 10 × 1,000". */
  method: string;
  raw: boolean;
  pass: Pass;
  records: number;
  /** Milliseconds of each round; the median is reported. */
  rounds: number[];
  /** Request latencies of the endpoint (all rounds), ms. */
  latencies?: number[];
  /** Endpoint only: how its records name their record, and records per request. */
  match?: MatchMode;
  perRequest?: number;
  memory?: { bodyBytes: number; before: number; peak: number; source: string };
  /** CPU ms per round: the service process's (endpoint only) and PostgreSQL's backends'; the service's GC pauses. */
  cpu?: { service?: number; postgres: number; gc?: number }[];
}

/** Median CPU µs per record of the service and of PostgreSQL, or '–'. */
function cpuPerRecord(m: Measurement, which: 'service' | 'postgres'): string {
  const xs = (m.cpu ?? []).map((c) => c[which]).filter((x): x is number => x !== undefined);
  return xs.length ? ((median(xs) * 1000) / m.records).toFixed(1) : '–';
}

/** Median share of the service's CPU spent in garbage collection pauses (endpoint only), or '–'. */
function gcShare(m: Measurement): string {
  const xs = (m.cpu ?? []).flatMap((c) => (c.gc !== undefined && c.service ? [c.gc / c.service] : []));
  return xs.length ? `${(median(xs) * 100).toFixed(0)} %` : '–';
}

export interface Environment {
  date: string;
  commit: string;
  dirty: string[];
  nproc: number;
  memory: string;
  postgres: string;
  node: string;
  database: string;
  command: string;
  /** 1-minute load average when the run started: other work on the machine shows here. */
  loadAverage: number;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function pct(sorted: readonly number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number): string => (n >= 100 ? fmtInt(n) : n.toFixed(1));
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export function recordsPerSecond(m: Measurement): number {
  return (m.records / median(m.rounds)) * 1000;
}

/** The best raw method of the same data set and pass (the one every ratio divides by). */
function bestRaw(all: readonly Measurement[], m: Measurement): number {
  return Math.max(...all.filter((x) => x.raw && x.group === m.group && x.pass === m.pass).map(recordsPerSecond));
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function resultsTable(all: readonly Measurement[]): string {
  const rows = all.map((m) => {
    const rps = recordsPerSecond(m);
    const best = bestRaw(all, m);
    const lat = m.latencies?.length ? [...m.latencies].sort((a, b) => a - b) : undefined;
    const mem = m.memory;
    return [
      m.group,
      m.pass,
      m.method,
      (median(m.rounds) / 1000).toFixed(2),
      fmtInt(rps),
      usPerRecord(m).toFixed(1),
      Number.isFinite(best) ? `${(rps / best).toFixed(2)}×` : '–',
      lat ? `${fmtMs(pct(lat, 50))} / ${fmtMs(pct(lat, 99))}` : '–',
      cpuPerRecord(m, 'service'),
      gcShare(m),
      cpuPerRecord(m, 'postgres'),
      mem ? `${((mem.peak - mem.before) / mem.bodyBytes).toFixed(1)}× (+${mb(mem.peak - mem.before)} on ${mb(mem.bodyBytes)})` : '–',
    ];
  });
  return table(
    ['data set', 'pass', 'method', 's (median)', 'records/s', 'µs / record', '÷ best raw', 'request p50 / p99 ms', 'service CPU µs / record', 'GC ÷ service CPU', 'PostgreSQL CPU µs / record', 'RSS growth ÷ body'],
    rows,
  );
}

function usPerRecord(m: Measurement): number {
  return (median(m.rounds) * 1000) / m.records;
}

/**
 * Time per record of single requests, by how records name their record, as the request grows (10,000 → 100,000): it
 * must not grow with the size (issue 15). Each cell also gives the ratio to the best raw method of its data set.
 */
export function growthTable(all: readonly Measurement[]): string {
  const single = all.filter((m) => !m.raw && m.match && m.perRequest === m.records);
  const sizes = [...new Set(single.map((m) => m.records))].sort((a, b) => a - b);
  if (sizes.length < 2) return '';
  const rows: string[][] = [];
  for (const match of Object.keys(MATCH_LABEL) as MatchMode[]) {
    for (const pass of ['insert', 'update'] as const) {
      const bySize = new Map(single.filter((m) => m.match === match && m.pass === pass).map((m) => [m.records, m]));
      if (!bySize.size) continue;
      const cells = sizes.map((n) => {
        const m = bySize.get(n);
        return m ? `${usPerRecord(m).toFixed(1)} (${(recordsPerSecond(m) / bestRaw(all, m)).toFixed(2)}×)` : '–';
      });
      const first = bySize.get(sizes[0]!);
      const last = bySize.get(sizes[sizes.length - 1]!);
      rows.push([MATCH_LABEL[match], pass, ...cells, first && last ? `${(usPerRecord(last) / usPerRecord(first)).toFixed(2)}×` : '–']);
    }
  }
  const head = sizes.map((n) => `µs / record at ${fmtInt(n)} (÷ best raw)`);
  return table(['records named', 'pass', ...head, `${fmtInt(sizes[sizes.length - 1]!)} ÷ ${fmtInt(sizes[0]!)}`], rows);
}

/** The streamed NDJSON case: time next to raw COPY, and the server's RSS during the request. */
export function ndjsonTable(report: NdjsonReport): string {
  const rows = report.measurements.map((m) => {
    const growth = m.memory.peak - m.memory.before;
    return [
      fmtInt(m.records),
      m.pass,
      mb(m.bodyBytes),
      (m.rawMs / 1000).toFixed(2),
      (m.ms / 1000).toFixed(2),
      fmtInt((m.records / m.ms) * 1000),
      ((m.ms * 1000) / m.records).toFixed(1),
      `${(m.rawMs / m.ms).toFixed(2)}×`,
      mb(m.memory.before),
      mb(m.memory.peak),
      mb(growth),
      m.memory.source,
    ];
  });
  const head = ['records', 'pass', 'body', 'raw COPY s', 'endpoint s', 'records/s', 'µs / record', '÷ raw COPY', 'RSS before', 'peak RSS', 'growth', 'peak from'];
  const lines = rows.length ? [table(head, rows)] : [];
  const inserts = report.measurements.filter((m) => m.pass === 'insert').sort((a, b) => a.records - b.records);
  if (inserts.length >= 2) {
    const growth = (m: NdjsonMeasurement) => m.memory.peak - m.memory.before;
    const small = inserts[0]!;
    const big = inserts[inserts.length - 1]!;
    const worst = Math.max(...report.measurements.filter((m) => m.records === big.records).map(growth));
    lines.push(
      '',
      `- target: peak RSS growth during the ${fmtInt(big.records)}-record request ≤ 256 MB: ${worst <= 256 * 1024 * 1024 ? 'met' : 'not met'} (${mb(worst)}, worst pass)`,
      // RSS moves by a few MB with the moment the collector runs: within 16 MB counts as "no more".
      `- target: no more growth at ${fmtInt(big.records)} than at ${fmtInt(small.records)} records (insert pass, fresh server each, within 16 MB): ${growth(big) <= growth(small) + 16 * 1024 * 1024 ? 'met' : 'not met'} (${mb(growth(big))} vs ${mb(growth(small))})`,
    );
  }
  if (report.skipped) lines.push(...(lines.length ? [''] : []), `- NDJSON case not measured: ${report.skipped}`);
  return lines.join('\n');
}

export function memoryTable(all: readonly Measurement[]): string {
  const rows = all
    .filter((m) => m.memory)
    .map((m) => {
      const mem = m.memory!;
      return [
        `${m.group}, ${m.method}, ${m.pass}`,
        fmtInt(mem.bodyBytes),
        mb(mem.before),
        mb(mem.peak),
        mb(mem.peak - mem.before),
        `${((mem.peak - mem.before) / mem.bodyBytes).toFixed(1)}×`,
        `${(mem.peak / mem.bodyBytes).toFixed(1)}×`,
        mem.source,
      ];
    });
  return table(['request', 'body bytes', 'RSS before', 'peak RSS', 'growth', 'growth ÷ body', 'peak ÷ body', 'peak from'], rows);
}

export interface LoadReport {
  load: LoadResult;
  /** The indexing behaviour the load ran with. */
  /** The endpoint's indexing behaviour, or raw SQL transactions of the same shape (no endpoint). */
  indexing: 'disabled' | 'inline' | 'raw SQL';
  deadlocks: number;
  retries: Map<string, number>;
  /** The endpoint's runs of chunks by write path during the load (from its /metrics). */
  paths?: Map<string, number>;
}

const SCENARIO: Record<LoadResult['scenario'], string> = {
  existing: 'updates: 100 of 1,000 existing products',
  spread: 'updates: 100 of 20,000 existing products',
  mixed: 'inserts + updates: 50 of 1,000 existing + 50 from a moving window of 400 new keys',
};

export function loadTable(reports: readonly LoadReport[]): string {
  const raw = (r: LoadReport) => reports.find((x) => x.indexing === 'raw SQL' && x.load.scenario === r.load.scenario);
  const disabled = (r: LoadReport) => reports.find((x) => x.indexing === 'disabled' && x.load.scenario === r.load.scenario);
  const ratio = (a: number, b: number | undefined) => (b ? `${(a / b).toFixed(2)}×` : '–');
  return table(
    [
      'keys per request (overlapping between clients)',
      'indexing',
      'clients',
      's',
      'requests',
      'records/s',
      'p50 / p99 / max ms',
      'p99 ÷ raw p99',
      'records/s ÷ raw',
      'p99 ÷ disable-indexing p99',
      'non-200',
      'transport errors',
      'deadlocks (pg_stat_database)',
      'retried transactions (server log)',
      'chunks checked / checked again / diagnosed / looked up (server /metrics)',
    ],
    reports.map((r) => {
      const { load, indexing, deadlocks, retries } = r;
      const isRaw = indexing === 'raw SQL';
      return [
        SCENARIO[load.scenario],
        indexing,
        String(load.clients),
        load.seconds.toFixed(0),
        fmtInt(load.requests),
        fmtInt(load.recordsPerSecond),
        `${fmtMs(load.p50)} / ${fmtMs(load.p99)} / ${fmtMs(load.max)}`,
        isRaw ? '–' : ratio(load.p99, raw(r)?.load.p99),
        isRaw ? '–' : ratio(load.recordsPerSecond, raw(r)?.load.recordsPerSecond),
        indexing === 'inline' ? ratio(load.p99, disabled(r)?.load.p99) : '–',
        [...load.failures].map(([k, n]) => `${n} × ${k}`).join(', ') || '0',
        String(load.transportErrors),
        String(deadlocks),
        [...retries].map(([k, n]) => `${n} × ${k}`).join(', ') || '0',
        r.paths ? WRITE_PATHS.map((p) => fmtInt(r.paths!.get(p) ?? 0)).join(' / ') : '–',
      ];
    }),
  );
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trimEnd();
  } catch {
    return '';
  }
}

export function environment(postgres: string, database: string, argv: readonly string[]): Environment {
  const dirty = git(['status', '--porcelain', '--', 'src', 'schemas', 'migrations'])
    .split('\n')
    .filter(Boolean)
    .map((l) => l.slice(3));
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commit: git(['rev-parse', '--short', 'HEAD']) || 'unknown',
    dirty,
    nproc: os.availableParallelism(),
    memory: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    postgres,
    node: process.version,
    database,
    command: ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' '),
    loadAverage: os.loadavg()[0]!,
  };
}

export function environmentText(env: Environment): string {
  const dirty = env.dirty.length ? ` (working tree: ${env.dirty.length} uncommitted change(s) under src/, schemas/, migrations/: ${env.dirty.join(', ')})` : '';
  return [
    `- date: ${env.date}`,
    `- git commit: ${env.commit}${dirty}`,
    `- machine: nproc ${env.nproc}, ${env.memory} memory, Node ${env.node}; load average ${env.loadAverage.toFixed(2)} at the start, ${os.loadavg()[0]!.toFixed(2)} at the end`,
    `- PostgreSQL: ${env.postgres} (${env.database})`,
    `- command: \`${env.command}\``,
  ].join('\n');
}

export interface Report {
  title: string;
  env: Environment;
  measurements: Measurement[];
  load: LoadReport[];
  ndjson?: NdjsonReport;
  notes: string[];
}

export function renderReport(r: Report): string {
  const parts = [`### ${r.title}`, '', environmentText(r.env), '', resultsTable(r.measurements)];
  const growth = growthTable(r.measurements);
  if (growth) parts.push('', 'Time per record of one request as it grows, by how the records name their record:', '', growth);
  if (r.ndjson) {
    parts.push('', 'One `application/x-ndjson` request with `Prefer: return=minimal`, body streamed, each on a fresh server process:', '', ndjsonTable(r.ndjson));
  }
  if (r.measurements.some((m) => m.memory)) parts.push('', 'Memory of the server process during the single large request:', '', memoryTable(r.measurements));
  if (r.load.length) parts.push('', 'Concurrency (8 clients, 100-record syncs, autocannon):', '', loadTable(r.load));
  if (r.notes.length) parts.push('', ...r.notes.map((n) => `- ${n}`));
  return parts.join('\n') + '\n';
}

export const DOC = path.join(ROOT, 'docs/PERFORMANCE.md');
/** Results are inserted before this line of docs/PERFORMANCE.md (appended at the end when it is missing). */
export const RESULTS_MARKER = '<!-- bench results above this line -->';

export function appendToDoc(text: string): void {
  const current = fs.existsSync(DOC) ? fs.readFileSync(DOC, 'utf8') : '# Performance\n\n';
  const at = current.indexOf(RESULTS_MARKER);
  const next = at < 0 ? `${current.trimEnd()}\n\n${text}` : `${current.slice(0, at)}${text}\n${current.slice(at)}`;
  fs.writeFileSync(DOC, next);
}
