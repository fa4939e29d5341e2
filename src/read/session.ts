import type { Knex } from 'knex';
import type pg from 'pg';
import type { Sql } from '../db/sql';

type PooledClient = pg.Client & { query: pg.Client['query'] };

/**
 * Runs reads on one pooled connection with native $n placeholders (the criteria module emits those). With
 * `consistent`, they share one REPEATABLE READ snapshot, so that a page, its total and its associations agree
 * even while writers commit in between; a single query needs no transaction.
 */
export async function withReadSession<T>(knex: Knex, consistent: boolean, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const conn = (await knex.client.acquireConnection()) as PooledClient;
  const sql: Sql = {
    query: async (text, params) => {
      const r = await conn.query(text, params as unknown[]);
      return { rows: r.rows, rowCount: r.rowCount ?? 0 };
    },
  };
  try {
    if (!consistent) return await fn(sql);
    await conn.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const out = await fn(sql);
      await conn.query('COMMIT');
      return out;
    } catch (e) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  } finally {
    await knex.client.releaseConnection(conn);
  }
}
