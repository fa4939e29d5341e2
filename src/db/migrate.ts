import path from 'node:path';
import type { Knex } from 'knex';
import pg from 'pg';

/** What the migrations may read of the configuration, as `knex.userParams` (they cannot read the environment). */
export interface MigrationParams {
  /** The languages of a fresh database, the first the system default. */
  languages?: readonly { localeCode: string; name: string }[];
}

/** Runs every pending knex migration of the given directories (files of all directories, ordered by name). */
export async function migrateLatest(knex: Knex, dirs: readonly string[], params: MigrationParams = {}): Promise<string[]> {
  const [, applied] = (await knex.withUserParams({ ...params }).migrate.latest({
    directory: dirs.map((d) => path.resolve(d)),
    loadExtensions: ['.js', '.cjs'],
    tableName: 'knex_migrations',
  })) as [number, string[]];
  return applied;
}

/**
 * Runs `fn` while holding the migration lock of the database at `url` (a session advisory lock on a connection of its
 * own). Processes that start at the same moment on one database then migrate one after the other: knex's own lock
 * table makes the second one fail ("Migration table is already locked") instead of waiting.
 */
export async function withMigrationLock<T>(url: string, fn: () => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`SELECT pg_advisory_lock(hashtext('bulksync'), hashtext('migrations'))`);
    return await fn();
  } finally {
    // Ending the session releases the lock.
    await client.end().catch(() => undefined);
  }
}
