import { loadConfig } from '../config';
import { openDatabase } from '../db/database';
import { createLogger } from '../logger';

/** `npm run migrate`: applies pending migrations of MIGRATIONS_DIR to DATABASE_URL (or the embedded database). */
async function run(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  const db = await openDatabase({ ...config, MIGRATE_ON_START: true }, undefined, logger);
  await db.close();
  process.stdout.write('migrations are up to date\n');
}

run().catch((e: unknown) => {
  process.stderr.write(`bulksync migrate: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
