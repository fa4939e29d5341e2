import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { createKnex } from '../../src/db/connection';
import { migrateLatest } from '../../src/db/migrate';

const MIGRATIONS = path.resolve(__dirname, '../../migrations');

/**
 * The database at `url` as an older version of bulksync left it: migrated up to (not including) `migration`, then
 * given data by `seed` the way that schema stored it. For the tests of a migration that moves data (startTestApp's
 * `prepare`, after which the app migrates the rest).
 */
export async function migratedBefore(url: string, migration: string, seed: (knex: Knex) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulksync-older-'));
  for (const f of fs.readdirSync(MIGRATIONS)) if (f < migration) fs.copyFileSync(path.join(MIGRATIONS, f), path.join(dir, f));
  const knex = createKnex(url);
  try {
    await migrateLatest(knex, [dir]);
    await seed(knex);
  } finally {
    await knex.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
