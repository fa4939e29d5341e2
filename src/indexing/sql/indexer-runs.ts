import type { Knex } from 'knex';
import { withConnection } from '../../db/sql';

/** Each indexer's last successful run and last error (bulksync_indexer_state), for the status endpoint. */
export async function recordSuccess(knex: Knex, indexer: string): Promise<void> {
  await withConnection(knex, (sql) =>
    sql.query(
      `INSERT INTO bulksync_indexer_state (indexer, last_completed_at) VALUES ($1, now())
       ON CONFLICT (indexer) DO UPDATE SET last_completed_at = now()`,
      [indexer],
    ),
  );
}

/** Best effort: an indexer's failure is reported by its job too, so a lost record of it costs nothing. */
export async function recordFailure(knex: Knex, indexer: string, error: unknown): Promise<void> {
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 2000);
  await withConnection(knex, (sql) =>
    sql.query(
      `INSERT INTO bulksync_indexer_state (indexer, last_error, last_error_at) VALUES ($1, $2, now())
       ON CONFLICT (indexer) DO UPDATE SET last_error = EXCLUDED.last_error, last_error_at = now()`,
      [indexer, message],
    ),
  ).catch(() => undefined);
}
