import { Integrations } from '../auth/integrations';
import { loadConfig } from '../config';
import { openDatabase } from '../db/database';
import { migrateQueue } from '../queue/runner';
import { createLogger } from '../observability/logger';

/**
 * `npm run migrate`: applies pending migrations of MIGRATIONS_DIR to DATABASE_URL (or the embedded database),
 * installs the queue's schema and ensures the admin integration of BULKSYNC_ADMIN_CLIENT_ID/SECRET when set: what
 * every process would do at start, done once, so that several processes can then start with MIGRATE_ON_START=false
 * without racing for the migration lock.
 */
export async function migrateCommand(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  const db = await openDatabase({ ...config, MIGRATE_ON_START: true }, undefined, logger);
  try {
    await migrateQueue(db.url);
    if (config.BULKSYNC_ADMIN_CLIENT_ID && config.BULKSYNC_ADMIN_CLIENT_SECRET) {
      await new Integrations(db.knex).ensureAdmin(config.BULKSYNC_ADMIN_CLIENT_ID, config.BULKSYNC_ADMIN_CLIENT_SECRET);
    }
  } finally {
    await db.close();
  }
  process.stdout.write('migrations are up to date\n');
}

if (require.main === module) {
  migrateCommand().catch((e: unknown) => {
    process.stderr.write(`bulksync migrate: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
