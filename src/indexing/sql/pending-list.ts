import type { Sql } from '../../db/sql';

/**
 * The durable list of stale records (bulksync_index_pending): what a queued sync leaves for the workers, and what a
 * worker removes in the transaction that re-derives it. Every function here is one set-based statement.
 */

export interface PendingRow {
  id: string;
  version: string;
}

/**
 * Marks the ids stale, in the caller's transaction. A row that is already there gets a new version (so that a
 * worker indexing it right now keeps it for another run) and a fresh start (a dead or failing id is retried: the
 * new write may have repaired it). Rows are written in (indexer, id) order, the order the worker locks them in.
 */
export async function markPending(sql: Sql, work: readonly (readonly [string, readonly string[]])[], opts: { lockShared?: boolean } = {}): Promise<void> {
  const indexers: string[] = [];
  const ids: string[] = [];
  for (const [name, list] of work) for (const id of list) {
    indexers.push(name);
    ids.push(id);
  }
  if (!ids.length) return;
  // lockShared: the pending lists' shared locks (lockPendingShared) in the same round trip, taken before any row is
  // added (the filter's sub-select runs once, before the first row).
  const lock = opts.lockShared
    ? `WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(hashtextextended('bulksync:index:' || n, 0)) FROM (SELECT DISTINCT unnest($1::text[]) AS n) x ORDER BY n) `
    : '';
  await sql.query(
    `${lock}INSERT INTO bulksync_index_pending (indexer, id)
     SELECT DISTINCT indexer, id FROM unnest($1::text[], $2::uuid[]) AS w(indexer, id) ${opts.lockShared ? 'WHERE (SELECT count(*) FROM l) >= 0 ' : ''}ORDER BY indexer, id
     ON CONFLICT (indexer, id) DO UPDATE
        SET version = EXCLUDED.version, queued_at = now(), not_before = now(), attempts = 0,
            last_error = NULL, failed_at = NULL, dead_at = NULL`,
    [indexers, ids],
  );
}

/**
 * Transaction-scoped advisory lock of an indexer's pending list: shared by syncs that add to it, exclusive for the
 * moment a worker decides that it has drained it (so that no sync can commit ids unseen in between). Locks are taken
 * in name order.
 */
export async function lockPendingShared(sql: Sql, indexers: readonly string[]): Promise<void> {
  if (!indexers.length) return;
  await sql.query(
    `SELECT pg_advisory_xact_lock_shared(hashtextextended('bulksync:index:' || n, 0)) FROM unnest($1::text[]) AS n ORDER BY n`,
    [[...indexers]],
  );
}

/** True when ids of the indexer are ready, read after every sync that could still add some has committed. */
export async function pendingAfterBarrier(sql: Sql, indexer: string): Promise<boolean> {
  await sql.query(`SELECT pg_advisory_xact_lock(hashtextextended('bulksync:index:' || $1, 0))`, [indexer]);
  const { rows } = await sql.query<{ ready: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM bulksync_index_pending WHERE indexer = $1 AND dead_at IS NULL AND not_before <= now()) AS ready`,
    [indexer],
  );
  return rows[0]!.ready;
}

/** The next ready ids of the indexer, in id order. */
export async function readyBatch(sql: Sql, indexer: string, size: number): Promise<PendingRow[]> {
  const { rows } = await sql.query<PendingRow>(
    `SELECT id::text AS id, version::text AS version FROM bulksync_index_pending
      WHERE indexer = $1 AND dead_at IS NULL AND not_before <= now() ORDER BY id LIMIT $2`,
    [indexer, size],
  );
  return rows;
}

/**
 * Removes the rows just indexed, in the indexing transaction: only those still at the version that was read (a row
 * marked again meanwhile stays for the next run). The rows are locked in id order first, as syncs write them.
 */
export async function settlePending(sql: Sql, indexer: string, rows: readonly PendingRow[]): Promise<void> {
  const ids = rows.map((r) => r.id);
  await sql.query(`SELECT 1 FROM bulksync_index_pending WHERE indexer = $1 AND id = ANY($2::uuid[]) ORDER BY id FOR UPDATE`, [indexer, ids]);
  await sql.query(
    `DELETE FROM bulksync_index_pending p USING unnest($2::uuid[], $3::bigint[]) AS b(id, version)
      WHERE p.indexer = $1 AND p.id = b.id AND p.version = b.version`,
    [indexer, ids, rows.map((r) => r.version)],
  );
}

/**
 * One id failed on its own: it keeps its error and waits (exponential backoff, as graphile-worker's) for its next
 * attempt; after maxAttempts it is dead. Nothing changes if the id was marked again meanwhile (it starts afresh).
 */
export async function recordIdFailure(sql: Sql, failure: { indexer: string; row: PendingRow; error: string; maxAttempts: number }): Promise<void> {
  const { indexer, row, error, maxAttempts } = failure;
  await sql.query(
    `UPDATE bulksync_index_pending
        SET attempts = attempts + 1, last_error = $4, failed_at = now(),
            not_before = now() + make_interval(secs => exp(least(attempts + 1, 10))),
            dead_at = CASE WHEN attempts + 1 >= $5 THEN now() END
      WHERE indexer = $1 AND id = $2::uuid AND version = $3::bigint`,
    [indexer, row.id, row.version, error.slice(0, 2000), maxAttempts],
  );
}

/** Dead ids of these indexers get a fresh start; returns how many. */
export async function reviveDead(sql: Sql, indexers: readonly string[]): Promise<number> {
  const { rowCount } = await sql.query(
    `UPDATE bulksync_index_pending SET dead_at = NULL, attempts = 0, not_before = now()
      WHERE dead_at IS NOT NULL AND indexer = ANY($1::text[])`,
    [[...indexers]],
  );
  return rowCount;
}

/** Of these indexers, those with ids ready now. */
export async function indexersWithReadyIds(sql: Sql, indexers: readonly string[]): Promise<string[]> {
  const { rows } = await sql.query<{ n: string }>(
    `SELECT n FROM unnest($1::text[]) AS n
      WHERE EXISTS (SELECT 1 FROM bulksync_index_pending p WHERE p.indexer = n AND p.dead_at IS NULL AND p.not_before <= now())
      ORDER BY n`,
    [[...indexers]],
  );
  return rows.map((r) => r.n);
}
