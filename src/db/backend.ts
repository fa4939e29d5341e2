import type { Sql } from './sql';

/** One transaction of one server process: its pid and its start (`now()` inside it). */
export interface BackendTransaction {
  pid: number;
  startedAt: string;
}

/** The transaction `sql` runs in, so that another connection can cancel it (and only it) later. */
export async function currentTransaction(sql: Sql): Promise<BackendTransaction> {
  const { rows } = await sql.query<{ pid: number; started_at: string }>(`SELECT pg_backend_pid() AS pid, now()::text AS started_at`);
  return { pid: rows[0]!.pid, startedAt: rows[0]!.started_at };
}

/**
 * Cancels the statement the transaction is running, if that transaction is still the one on its connection: a
 * pooled connection runs other transactions later, which the pid alone cannot tell apart.
 */
export async function cancelTransaction(sql: Sql, tx: BackendTransaction): Promise<boolean> {
  const { rows } = await sql.query<{ cancelled: boolean }>(
    `SELECT pg_cancel_backend(pid) AS cancelled FROM pg_stat_activity WHERE pid = $1 AND xact_start = $2::timestamptz`,
    [tx.pid, tx.startedAt],
  );
  return rows[0]?.cancelled ?? false;
}
