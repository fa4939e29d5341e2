import path from 'node:path';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/database';
import { startEmbedded } from '../../src/db/embedded';
import { createLogger } from '../../src/observability/logger';
import { migrateQueue } from '../../src/queue/runner';
import { admin, databaseName, TEMPLATE_ENV, withDatabase } from './database';

const ROOT = path.resolve(__dirname, '../..');

/**
 * Tests use DATABASE_URL when it is set (CI points it at the machine's PostgreSQL); otherwise one embedded
 * server is started for the whole run. Each test file then creates and drops its own database on it, as a copy of
 * one template migrated here once (our migrations and graphile-worker's), instead of migrating its own.
 */
export default async function globalSetup(): Promise<void> {
  if (!process.env.DATABASE_URL) {
    const server = await startEmbedded(path.resolve(ROOT, '.data/test-pg'), createLogger('error'));
    process.env.DATABASE_URL = server.url;
    (globalThis as { __embeddedPg?: { stop(): Promise<void> } }).__embeddedPg = server;
  }
  const name = databaseName('bulksync_template');
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = withDatabase(process.env.DATABASE_URL!, name);
  const db = await openDatabase(
    { DATABASE_URL: url, DATABASE_READ_URL: undefined, EMBEDDED_PG_DIR: '', DATABASE_POOL_MAX: 2, MIGRATE_ON_START: true, MIGRATIONS_DIR: [path.join(ROOT, 'migrations')], LANGUAGES: loadConfig({}).LANGUAGES },
    undefined,
    createLogger('error'),
  );
  await db.close();
  await migrateQueue(url);
  // No connection may stay open on a template, or copying it fails.
  process.env[TEMPLATE_ENV] = name;
}
