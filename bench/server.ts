import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ROOT } from './db';

/** Where the bench compiles the service (gitignored; dist/ is left alone). */
export const BUILD_DIR = path.join(ROOT, '.bench/dist');

/**
 * Compiles src/ as `npm run build` does (tsconfig.build.json), into .bench/dist, so that the server runs as it
 * does in the container (`node dist/main.js`) and profiles point at real lines. Type errors are reported but do
 * not stop the bench as long as JavaScript was emitted.
 */
export async function buildServer(log: (line: string) => void): Promise<string> {
  fs.rmSync(BUILD_DIR, { recursive: true, force: true });
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  const output = await new Promise<string>((resolve) => {
    execFile(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', BUILD_DIR, '--tsBuildInfoFile', path.join(BUILD_DIR, '.tsbuildinfo')], { cwd: ROOT }, (err, stdout, stderr) => {
      resolve(err ? `${stdout}${stderr}`.trim() || err.message : '');
    });
  });
  const entry = path.join(BUILD_DIR, 'main.js');
  if (!fs.existsSync(entry)) throw new Error(`compiling src/ produced no ${path.relative(ROOT, entry)}:\n${output}`);
  if (output) log(`bench: warning: tsc reported errors in src/ (JavaScript was emitted and is used):\n${output.split('\n').slice(0, 10).join('\n')}`);
  return entry;
}

/** The real service as a child process: `node .bench/dist/main.js` (one process, so its pid is the server's). */
export interface ServerProcess {
  pid: number;
  baseUrl: string;
  /** Warnings the server logged that a transaction was retried, by PostgreSQL error code (40P01, 40001). */
  retries: Map<string, number>;
  /** Lines the server wrote to stderr (warnings and errors at LOG_LEVEL=warn), the last 200. */
  stderrTail: string[];
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** The compiled entry point (buildServer). */
  entry: string;
  databaseUrl: string;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: readonly string[];
  env?: Record<string, string>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitHealthy(baseUrl: string, child: ChildProcess, stderr: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode} during startup:\n${stderr()}`);
    try {
      const res = await fetch(`${baseUrl}/ready`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the server did not answer /ready within ${timeoutMs / 1000} s:\n${stderr()}`);
}

function countRetries(line: string, retries: Map<string, number>): void {
  if (!line.includes('sync transaction retried')) return;
  let code = 'unknown';
  try {
    const parsed = JSON.parse(line) as { pgCode?: unknown };
    if (typeof parsed.pgCode === 'string') code = parsed.pgCode;
  } catch {
    // not a JSON line: count it as unknown
  }
  retries.set(code, (retries.get(code) ?? 0) + 1);
}

/** The samples of one metric family on the server's /metrics, by the value of one label. */
async function samples(baseUrl: string, name: string, label: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const out = new Map<string, number>();
  const line = new RegExp(`^${name}\\{${label}="([a-z_]+)"\\} (\\S+)`, 'gm');
  for (const m of text.matchAll(line)) out.set(m[1]!, Number(m[2]));
  return out;
}

/** The server's runs of sync chunks by write path (bulksync_sync_chunks_total). */
export function chunkPaths(baseUrl: string): Promise<Map<string, number>> {
  return samples(baseUrl, 'bulksync_sync_chunks_total', 'path');
}

/** Milliseconds the server spent in garbage collection so far, all kinds (prom-client's default GC histogram). */
export async function gcMs(baseUrl: string): Promise<number> {
  let seconds = 0;
  for (const s of (await samples(baseUrl, 'bulksync_nodejs_gc_duration_seconds_sum', 'kind')).values()) seconds += s;
  return seconds * 1000;
}

/** Starts the service on a free loopback port; it migrates the database at startup. */
export async function startServer(opts: ServerOptions): Promise<ServerProcess> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [...(opts.nodeFlags ?? []), opts.entry], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: opts.databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      // The bench measures throughput, not the per-integration request limit (default 1,200 a minute).
      RATE_LIMIT_PER_MINUTE: '1000000000',
      ...opts.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const retries = new Map<string, number>();
  const stderrTail: string[] = [];
  let partial = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      countRetries(line, retries);
      stderrTail.push(line);
      if (stderrTail.length > 200) stderrTail.shift();
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
  };
  try {
    await waitHealthy(baseUrl, child, () => stderrTail.join('\n'));
  } catch (e) {
    await stop();
    throw e;
  }
  return { pid: child.pid!, baseUrl, retries, stderrTail, stop };
}
