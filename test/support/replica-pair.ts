import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { until } from './poll';

/**
 * A PostgreSQL 15 primary and its streaming replica, made for one test file with Debian's server tools: `initdb`
 * a primary, `pg_basebackup -R` a replica from it, both on free loopback ports, both stopped and removed by
 * `stop()`. The machine's own cluster is no use here: its pg_hba refuses replication connections.
 */
export const PG_BIN = '/usr/lib/postgresql/15/bin';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

/** A tool the pair needs, and how to tell it is there. */
export interface Requirement {
  what: string;
  present(): boolean;
}

const RUNUSER = ['/usr/sbin/runuser', '/sbin/runuser'];

function postgresUserExists(): boolean {
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const REQUIREMENTS: Requirement[] = [
  ...['initdb', 'pg_ctl', 'pg_basebackup', 'postgres'].map((tool) => ({
    what: `${path.join(PG_BIN, tool)} (Debian package postgresql-15)`,
    present: () => fs.existsSync(path.join(PG_BIN, tool)),
  })),
  // The server refuses to run as root: as root the tools run as the system user postgres.
  ...(isRoot
    ? [
        { what: 'runuser (to run the server tools as user postgres; they refuse root)', present: () => RUNUSER.some((p) => fs.existsSync(p)) },
        { what: 'the system user postgres (the server tools refuse root)', present: postgresUserExists },
      ]
    : []),
];

/** The first requirement this machine lacks, or undefined when a pair can be made. Decided at load time. */
export function missingReplicaTool(): Requirement | undefined {
  return REQUIREMENTS.find((r) => !r.present());
}

export interface ReplicaPair {
  /** Connection strings (database postgres) of the primary and of the replica. */
  primary: string;
  replica: string;
  /** Resolves once the replica has replayed everything the primary had written when called. */
  caughtUp(): Promise<void>;
  /** Holds replay on the replica: it keeps answering, from the state it has. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Stops the replica only (the primary keeps serving). */
  stopReplica(): Promise<void>;
  /** Stops both servers and removes their files. */
  stop(): Promise<void>;
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

/** Runs a server tool as user postgres when we are root, as ourselves otherwise. */
async function tool(name: string, args: string[]): Promise<void> {
  const bin = path.join(PG_BIN, name);
  const [cmd, argv] = isRoot ? [RUNUSER.find((p) => fs.existsSync(p))!, ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  try {
    await run(cmd, argv, { timeout: 120_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${name} ${args.join(' ')} failed: ${err.stderr || err.message}`);
  }
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

export async function startReplicaPair(): Promise<ReplicaPair> {
  // The server runs as postgres: it must be able to enter the directory (mkdtemp makes it 0700, owned by us).
  const dir = fs.mkdtempSync('/tmp/bulksync-replica-');
  fs.chmodSync(dir, 0o755);
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    fs.chownSync(dir, uid, gid);
  }
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const primaryDir = path.join(dir, 'primary');
  const replicaDir = path.join(dir, 'replica');
  // Test servers: small, no fsync, sockets in our directory (not /var/run/postgresql).
  const options = (port: number) => `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off -c shared_buffers=32MB`;
  const started: string[] = [];
  const stopServer = async (dataDir: string) => {
    if (!started.includes(dataDir)) return;
    started.splice(started.indexOf(dataDir), 1);
    await tool('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
  };
  const stop = async () => {
    await stopServer(replicaDir);
    await stopServer(primaryDir);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await tool('initdb', ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    fs.appendFileSync(path.join(primaryDir, 'pg_hba.conf'), '\nhost replication all 127.0.0.1/32 trust\n');
    await tool('pg_ctl', ['-D', primaryDir, '-o', `${options(primaryPort)} -c wal_level=replica`, '-l', path.join(dir, 'primary.log'), '-w', 'start']);
    started.push(primaryDir);
    await tool('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', replicaDir, '-R', '-X', 'stream', '-c', 'fast']);
    await tool('pg_ctl', ['-D', replicaDir, '-o', options(replicaPort), '-l', path.join(dir, 'replica.log'), '-w', 'start']);
    started.push(replicaDir);
  } catch (e) {
    await stop();
    throw e;
  }
  const primary = `postgres://postgres@127.0.0.1:${primaryPort}/postgres`;
  const replica = `postgres://postgres@127.0.0.1:${replicaPort}/postgres`;
  return {
    primary,
    replica,
    caughtUp: async () => {
      const [{ lsn }] = (await query<{ lsn: string }>(primary, 'SELECT pg_current_wal_lsn()::text AS lsn')) as [{ lsn: string }];
      const done = await until(
        () => query<{ done: boolean }>(replica, 'SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) AS done', [lsn]),
        (rows) => rows[0]!.done,
        30,
      );
      if (!done[0]!.done) throw new Error(`the replica did not replay up to ${lsn} within 30 s`);
    },
    // Once requested, no further WAL record is applied; "paused" only shows after the next one arrives.
    pauseReplay: async () => void (await query(replica, 'SELECT pg_wal_replay_pause()')),
    resumeReplay: async () => void (await query(replica, 'SELECT pg_wal_replay_resume()')),
    stopReplica: () => stopServer(replicaDir),
    stop,
  };
}
