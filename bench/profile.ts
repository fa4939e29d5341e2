import fs from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import path from 'node:path';
import { watchActivity, type ActivitySummary } from './activity';
import { TokenSource } from './auth';
import { connect, resetTables, ROOT } from './db';
import { sendSequential } from './endpoint';
import { fmtInt } from './report';
import { changed, hexId, makeProducts, syncBody } from './rows';
import { BUILD_DIR, startServer } from './server';

/**
 * `npm run bench -- --profile`: one request of N products (insert pass, then update pass) to a server running
 * under `node --cpu-prof`; the profile is cut to the time of the two requests and summarised: self time per
 * function, time per file or package, and inclusive time of the service's own functions.
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function frameName(f: CallFrame): string {
  return f.functionName || '(anonymous)';
}

const maps = new Map<string, SourceMap | undefined>();

function sourceMapOf(file: string): SourceMap | undefined {
  if (!maps.has(file)) {
    try {
      maps.set(file, new SourceMap(JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')) as SourceMapPayload));
    } catch {
      maps.set(file, undefined);
    }
  }
  return maps.get(file);
}

/** A frame of the compiled service, mapped back to its TypeScript file and line (1-based). */
function original(file: string, f: CallFrame): { file: string; line?: number } {
  const rel = path.relative(BUILD_DIR, file).replace(/\.js$/, '.ts');
  const entry = sourceMapOf(file)?.findEntry(f.lineNumber, f.columnNumber);
  const line = entry && 'originalLine' in entry ? entry.originalLine + 1 : undefined;
  return { file: `src/${rel}`, line };
}

/** Where a frame's code lives: a file of src/, a package of node_modules, node's internals, or V8 itself. */
function place(f: CallFrame): string {
  const url = f.url.replace(/^file:\/\//, '');
  if (!url) return frameName(f).startsWith('(') ? frameName(f) : '(native)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return `node_modules/${rest[0]!.startsWith('@') ? rest.slice(0, 2).join('/') : rest[0]}`;
  }
  if (url.startsWith(BUILD_DIR + '/')) return original(url, f).file;
  if (url.startsWith(ROOT + '/')) return path.relative(ROOT, url);
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  return url;
}

function location(f: CallFrame): string {
  const url = f.url.replace(/^file:\/\//, '');
  if (url.startsWith(BUILD_DIR + '/')) {
    const o = original(url, f);
    return o.line === undefined ? o.file : `${o.file}:${o.line}`;
  }
  return place(f);
}

interface Row {
  label: string;
  ms: number;
}

function top(map: Map<string, number>, n: number): Row[] {
  return [...map].map(([label, us]) => ({ label, ms: us / 1000 })).sort((a, b) => b.ms - a.ms).slice(0, n);
}

function add(map: Map<string, number>, key: string, us: number): void {
  map.set(key, (map.get(key) ?? 0) + us);
}

export interface ProfileSummary {
  windowMs: number;
  sampledMs: number;
  selfByFunction: Row[];
  selfByPlace: Row[];
  inclusiveSrc: Row[];
}

/** Self and inclusive time of the samples taken inside the windows (µs on the monotonic clock). */
export function summarise(profile: CpuProfile, windows: readonly [number, number][]): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inside = (t: number) => windows.some(([a, b]) => t >= a && t <= b);
  let anyInside = false;
  let t = profile.startTime;
  for (const d of profile.timeDeltas) {
    t += d;
    if (inside(t)) {
      anyInside = true;
      break;
    }
  }
  const self = new Map<string, number>();
  const byPlace = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let sampled = 0;
  t = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    // The time of a sample is the gap to the next one.
    const dt = profile.timeDeltas[i + 1] ?? 0;
    if (anyInside && !inside(t)) return;
    const node = byId.get(id);
    if (!node) return;
    sampled += dt;
    const f = node.callFrame;
    add(self, `${frameName(f)} — ${location(f)}`, dt);
    add(byPlace, place(f), dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur)!.callFrame;
      if (!place(cf).startsWith('src/')) continue;
      const key = `${frameName(cf)} — ${location(cf)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      add(inclusive, key, dt);
    }
  });
  const windowMs = windows.reduce((n, [a, b]) => n + (b - a), 0) / 1000;
  return { windowMs, sampledMs: sampled / 1000, selfByFunction: top(self, 25), selfByPlace: top(byPlace, 15), inclusiveSrc: top(inclusive, 25) };
}

function render(title: string, rows: Row[], total: number): string {
  const lines = rows.map((r) => `| ${r.label.replace(/\|/g, '\\|')} | ${r.ms.toFixed(0)} | ${((r.ms / total) * 100).toFixed(1)} % |`);
  return [`#### ${title}`, '', '| function / place | ms | share |', '| --- | --- | --- |', ...lines].join('\n');
}

function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export async function runProfile(
  entry: string,
  databaseUrl: string,
  records: number,
  indexing: Record<string, string>,
  credentials: Record<string, string>,
  log: (line: string) => void,
): Promise<void> {
  const dir = path.join(ROOT, '.bench', `profile-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  fs.mkdirSync(dir, { recursive: true });
  const server = await startServer({ entry, databaseUrl, nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir], env: credentials });
  const tokens = new TokenSource(server.baseUrl, credentials.BULKSYNC_ADMIN_CLIENT_SECRET!);
  const client = await connect(databaseUrl);
  const windows: [number, number][] = [];
  const timings: string[] = [];
  const activity: ActivitySummary[] = [];
  try {
    await resetTables(client);
    const taxId = hexId();
    await client.query(`INSERT INTO tax (id, name, tax_rate) VALUES ($1, 'Standard rate', 19)`, [taxId]);
    const inserted = makeProducts(taxId, records);
    const passes = [
      ['insert', syncBody('product', inserted)],
      ['update', syncBody('product', inserted.map((p) => changed(p, 1)))],
    ] as const;
    for (const [pass, body] of passes) {
      const headers = { ...indexing, ...(await tokens.headers()) };
      const watch = await watchActivity(databaseUrl);
      const a = nowUs();
      const r = await sendSequential(server.baseUrl, [body], { entity: 'product', perBody: [records] }, headers);
      windows.push([a, nowUs()]);
      activity.push(await watch.stop());
      const sent = Object.entries(indexing).map(([k, v]) => `${k}: ${v}`).join(', ') || 'no indexing header';
      timings.push(
        `${pass}: ${(r.ms / 1000).toFixed(2)} s, ${fmtInt((records / r.ms) * 1000)} records/s, body ${fmtInt(body.length)} bytes (${sent}; x-indexing: ${r.indexing ?? 'absent'})`,
      );
      log(`profile: ${timings[timings.length - 1]}`);
    }
  } finally {
    await client.end();
    await server.stop();
  }
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile was written to ${dir}`);
  const profile = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
  const s = summarise(profile, windows);
  const out = [
    `### CPU profile of one request of ${fmtInt(records)} products (insert pass, then update pass)`,
    '',
    ...timings.map((t) => `- ${t}`),
    `- profile: ${path.relative(ROOT, path.join(dir, file))}; ${s.sampledMs.toFixed(0)} ms of samples inside the ${s.windowMs.toFixed(0)} ms of the two requests`,
    '',
    render('Self time by function', s.selfByFunction, s.sampledMs),
    '',
    render('Self time by file or package', s.selfByPlace, s.sampledMs),
    '',
    render('Inclusive time of src/ functions', s.inclusiveSrc, s.sampledMs),
    ...activity.flatMap((a, i) => {
      const total = windows[i] ? (windows[i]![1] - windows[i]![0]) / 1000 : 1;
      const rows = (m: Map<string, number>) => top(new Map([...m].map(([k, ms]) => [k, ms * 1000])), 12);
      return [
        '',
        render(`PostgreSQL connection of the ${i === 0 ? 'insert' : 'update'} pass by statement (pg_stat_activity every ${a.intervalMs} ms)`, rows(a.byStatement), total),
        '',
        render(`… by wait event while a statement ran`, rows(a.byWait), total),
      ];
    }),
  ].join('\n');
  process.stdout.write('\n' + out + '\n');
}
