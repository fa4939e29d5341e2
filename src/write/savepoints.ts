import type { Sql } from '../db/sql';

/**
 * Savepoints by name: a part of the transaction that can be undone alone (a command retried after a concurrent
 * insert, a record of a partial-success operation). Names come from the code, never from a request.
 */
export const savepoints = {
  /** The statement that takes one, to send with others in one round trip. */
  statement: (name: string) => `SAVEPOINT ${name}`,
  begin: (sql: Sql, name: string) => sql.query(`SAVEPOINT ${name}`),
  undo: (sql: Sql, name: string) => sql.query(`ROLLBACK TO SAVEPOINT ${name}`),
  keep: (sql: Sql, name: string) => sql.query(`RELEASE SAVEPOINT ${name}`),
};
