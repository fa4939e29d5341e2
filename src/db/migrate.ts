import path from 'node:path';
import type { Knex } from 'knex';

/** Runs every pending knex migration of the given directories (files of all directories, ordered by name). */
export async function migrateLatest(knex: Knex, dirs: readonly string[]): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest({
    directory: dirs.map((d) => path.resolve(d)),
    loadExtensions: ['.js', '.cjs'],
    tableName: 'knex_migrations',
  })) as [number, string[]];
  return applied;
}
