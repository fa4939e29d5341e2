import type { Knex } from 'knex';
import { NO_JIT, withConnection, withTransaction, type Sql } from '../db/sql';

/**
 * Runs reads on one pooled connection with native $n placeholders (the criteria module emits those). With
 * `consistent`, they share one REPEATABLE READ snapshot, so that a page, its total and its associations agree
 * even while writers commit in between; a single query needs no transaction.
 */
export async function withReadSession<T>(knex: Knex, consistent: boolean, fn: (sql: Sql) => Promise<T>): Promise<T> {
  if (!consistent) return withConnection(knex, fn);
  // JIT compilation pays off for long analytical queries; a listing over a large category crosses its cost
  // threshold and spends tens of milliseconds compiling (seen at 1,000,000 products). Off for the snapshot's
  // statements, sent with BEGIN in one round trip.
  return withTransaction(knex, fn, { retries: 0 }, `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; ${NO_JIT}`);
}
