import path from 'node:path';
import { startEmbedded } from '../../src/db/embedded';
import { createLogger } from '../../src/observability/logger';

/**
 * Tests use DATABASE_URL when it is set (CI points it at the machine's PostgreSQL); otherwise one embedded
 * server is started for the whole run. Each test file then creates and drops its own database on it.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) return;
  const server = await startEmbedded(path.resolve(__dirname, '../../.data/test-pg'), createLogger('error'));
  process.env.DATABASE_URL = server.url;
  (globalThis as { __embeddedPg?: { stop(): Promise<void> } }).__embeddedPg = server;
}
