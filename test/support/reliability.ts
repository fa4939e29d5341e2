import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './app';

/**
 * The reliability suite runs twice: a short version inside `npm test`, and the long one under
 * `npm run test:reliability` (RELIABILITY=long). Each test sizes itself with `scale(short, long)`.
 */
export const LONG = process.env.RELIABILITY === 'long';

export function scale<T>(short: T, long: T): T {
  return LONG ? long : short;
}

export interface ServerProcess {
  /** http://127.0.0.1:<port> */
  base: string;
  port: number;
  child: ChildProcess;
  /** Everything the process printed so far. */
  log(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface ServerOptions {
  /** Connection string of the database the process serves. */
  url: string;
  /** The signing key of the test app, so that its admin token is valid in the child too. */
  tokenSecret: string;
  /** `src/main.ts` (API, with or without its worker) or `src/cli/worker.ts` (worker only). */
  entry?: 'main' | 'worker';
  env?: Record<string, string>;
}

let nextPort = 19000 + Math.floor(Math.random() * 2000);

/**
 * Starts the real service in a child process (as `npm run start:dev` would) and waits until it serves /health
 * (or, for a worker, until it says it started). Kill it with SIGKILL to simulate a crash.
 */
export async function startServer(opts: ServerOptions): Promise<ServerProcess> {
  const port = nextPort++;
  const entry = opts.entry === 'worker' ? 'src/cli/worker.ts' : 'src/main.ts';
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, entry)], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: opts.url,
      PORT: String(port),
      SCHEMAS_DIR: path.join(ROOT, 'schemas'),
      MIGRATIONS_DIR: path.join(ROOT, 'migrations'),
      BULKSYNC_ADMIN_CLIENT_ID: 'test-admin',
      BULKSYNC_ADMIN_CLIENT_SECRET: 'test-admin-secret',
      BULKSYNC_TOKEN_SECRET: opts.tokenSecret,
      RATE_LIMIT_PER_MINUTE: '1000000',
      LOG_LEVEL: 'info',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  const ready = opts.entry === 'worker' ? () => out.includes('queue worker started') : () => out.includes('bulksync listening');
  for (let i = 0; i < 600 && !ready() && !gone; i++) await new Promise((r) => setTimeout(r, 100));
  if (!ready()) {
    child.kill('SIGKILL');
    throw new Error(`the ${entry} process did not start:\n${out}`);
  }
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    child,
    log: () => out,
    exited,
    kill: async (signal = 'SIGKILL') => {
      if (!gone) child.kill(signal);
      await exited;
    },
  };
}
