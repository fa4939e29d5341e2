import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './db';
import type { LoadResult } from './load';

export type Pass = 'insert' | 'update';

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
  memory?: { bodyBytes: number; before: number; peak: number; source: string };
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
      Number.isFinite(best) ? `${(rps / best).toFixed(2)}×` : '–',
      lat ? `${fmtMs(pct(lat, 50))} / ${fmtMs(pct(lat, 99))}` : '–',
      mem ? `${((mem.peak - mem.before) / mem.bodyBytes).toFixed(1)}× (+${mb(mem.peak - mem.before)} on ${mb(mem.bodyBytes)})` : '–',
    ];
  });
  return table(['data set', 'pass', 'method', 's (median)', 'records/s', '÷ best raw', 'request p50 / p99 ms', 'RSS growth ÷ body'], rows);
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
  indexing: 'disabled' | 'inline';
  deadlocks: number;
  retries: Map<string, number>;
}

const SCENARIO: Record<LoadResult['scenario'], string> = {
  existing: 'updates: 100 of 1,000 existing products',
  spread: 'updates: 100 of 20,000 existing products',
  mixed: 'inserts + updates: 50 of 1,000 existing + 50 from a moving window of 400 new keys',
};

export function loadTable(reports: readonly LoadReport[]): string {
  return table(
    ['keys per request (overlapping between clients)', 'indexing', 'clients', 's', 'requests', 'records/s', 'p50 / p99 / max ms', 'non-200', 'transport errors', 'deadlocks (pg_stat_database)', 'retried transactions (server log)'],
    reports.map(({ load, indexing, deadlocks, retries }) => [
      SCENARIO[load.scenario],
      indexing,
      String(load.clients),
      load.seconds.toFixed(0),
      fmtInt(load.requests),
      fmtInt(load.recordsPerSecond),
      `${fmtMs(load.p50)} / ${fmtMs(load.p99)} / ${fmtMs(load.max)}`,
      [...load.failures].map(([k, n]) => `${n} × ${k}`).join(', ') || '0',
      String(load.transportErrors),
      String(deadlocks),
      [...retries].map(([k, n]) => `${n} × ${k}`).join(', ') || '0',
    ]),
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
  notes: string[];
}

export function renderReport(r: Report): string {
  const parts = [`### ${r.title}`, '', environmentText(r.env), '', resultsTable(r.measurements)];
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
