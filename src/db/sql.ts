import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
import type pg from 'pg';
import { from as copyStream } from 'pg-copy-streams';

/** What the write path needs from a connection: parameterised statements with native $n placeholders, and COPY. */
export interface Sql {
  query<R extends object = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<{ rows: R[]; rowCount: number }>;
  /**
   * Runs `COPY … FROM STDIN` (`statement`) on this connection, sending the chunks of COPY data `source` yields, with
   * backpressure; resolves with the number of rows copied. A failed COPY rejects (and aborts the transaction like any
   * failed statement).
   */
  copyFrom(statement: string, source: Iterable<Buffer>): Promise<number>;
  /** Whether the connection is inside a transaction block (as of the last statement's answer). */
  inTransaction(): boolean;
}

/** Double-quotes an identifier that comes from a validated definition (snake_case), never from a request. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

const RETRYABLE = new Set(['40P01', '40001']);

export function isRetryable(e: unknown): boolean {
  return typeof e === 'object' && e !== null && RETRYABLE.has((e as { code?: string }).code ?? '');
}

/** The pause before re-running a transaction that lost to a deadlock: jittered, doubling with each attempt. */
export function retryBackoff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.random() * 25 * 2 ** attempt));
}

export interface TransactionOptions {
  /** How many times a deadlock or serialization failure re-runs the whole transaction. */
  retries: number;
  onRetry?: (attempt: number, error: unknown) => void;
}

type PooledClient = pg.Client & { query: pg.Client['query'] };

function sqlOf(conn: PooledClient): Sql {
  return {
    query: async (text, params) => {
      const r = (await conn.query(text, params as unknown[])) as pg.QueryResult | pg.QueryResult[];
      // Several statements in one string (no parameters) answer one result each: the last that is not a SET counts.
      const main = Array.isArray(r) ? ([...r].reverse().find((x) => x.command !== 'SET') ?? r[r.length - 1]!) : r;
      return { rows: main.rows, rowCount: main.rowCount ?? 0 };
    },
    copyFrom: async (statement, source) => {
      const stream = conn.query(copyStream(statement));
      await pipeline(Readable.from(source, { objectMode: false }), stream);
      return stream.rowCount;
    },
    inTransaction: () => conn.getTransactionStatus() !== 'I',
  };
}

/**
 * Runs `fn` on one connection taken from knex's pool (so that raw pg statements are counted and pooled like the
 * rest), with native $n placeholders.
 */
export async function withConnection<T>(knex: Knex, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const conn = (await knex.client.acquireConnection()) as PooledClient;
  const sql = sqlOf(conn);
  try {
    return await fn(sql);
  } finally {
    await knex.client.releaseConnection(conn);
  }
}

/** A transaction held open across several steps (a streamed request's chunks); `end` commits or rolls back. */
export interface Transaction {
  sql: Sql;
  end(commit: boolean): Promise<void>;
}

/**
 * Sent with every BEGIN of a write transaction. JIT compilation pays off only for long analytical queries, and its
 * threshold is a cost estimate: the write path's statements over a table without statistics (a fresh install, a
 * table just filled) are estimated at hundreds of thousands, and PostgreSQL then spent 400 ms compiling each chunk's
 * statement that ran in 80 ms (a 100,000-product request: 29 s, 3,400 records/s, against about 10 s without).
 */
export const NO_JIT = 'SET LOCAL jit = off';

/**
 * Takes a pooled connection and begins a transaction on it; the connection goes back to the pool at `end`.
 * `prelude`: statements without parameters sent with BEGIN, in the same round trip (locks, a savepoint).
 */
export async function openTransaction(knex: Knex, prelude: readonly string[] = []): Promise<Transaction> {
  const conn = (await knex.client.acquireConnection()) as PooledClient;
  const sql = sqlOf(conn);
  try {
    await sql.query(['BEGIN', NO_JIT, ...prelude].join('; '));
  } catch (e) {
    await knex.client.releaseConnection(conn);
    throw e;
  }
  let open = true;
  return {
    sql,
    end: async (commit) => {
      if (!open) return;
      open = false;
      try {
        if (commit) await sql.query('COMMIT');
        else await sql.query('ROLLBACK').catch(() => undefined);
      } finally {
        await knex.client.releaseConnection(conn);
      }
    },
  };
}

/**
 * Runs `fn` in one transaction (`begin` is its first statement). A deadlock or serialization failure re-runs the
 * whole function after a jittered backoff.
 */
export async function withTransaction<T>(
  knex: Knex,
  fn: (sql: Sql) => Promise<T>,
  opts: TransactionOptions,
  begin = `BEGIN; ${NO_JIT}`,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await withConnection(knex, async (sql) => {
        await sql.query(begin);
        try {
          const out = await fn(sql);
          await sql.query('COMMIT');
          return out;
        } catch (e) {
          await sql.query('ROLLBACK').catch(() => undefined);
          throw e;
        }
      });
    } catch (e) {
      if (!isRetryable(e) || attempt >= opts.retries) throw e;
      opts.onRetry?.(attempt + 1, e);
      await retryBackoff(attempt);
    }
  }
}
