import type { Knex } from 'knex';

/** Each indexer's last successful run and last error, for the status endpoint. */
export async function recordSuccess(knex: Knex, indexer: string): Promise<void> {
  await knex.raw(
    `INSERT INTO bulksync_indexer_state (indexer, last_completed_at) VALUES (?, now())
     ON CONFLICT (indexer) DO UPDATE SET last_completed_at = now()`,
    [indexer],
  );
}

export async function recordFailure(knex: Knex, indexer: string, error: unknown): Promise<void> {
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 2000);
  await knex
    .raw(
      `INSERT INTO bulksync_indexer_state (indexer, last_error, last_error_at) VALUES (?, ?, now())
       ON CONFLICT (indexer) DO UPDATE SET last_error = EXCLUDED.last_error, last_error_at = now()`,
      [indexer, message],
    )
    .catch(() => undefined);
}
