import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The env variable through which jest's global setup names the migrated template database. */
export const TEMPLATE_ENV = 'BULKSYNC_TEST_TEMPLATE';

function adminUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set (the jest global setup sets it)');
  return url;
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = '/' + name;
  return u.toString();
}

export async function admin<T>(fn: (c: pg.Client) => Promise<T>, url = adminUrl()): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export function databaseName(prefix = 'bulksync_test'): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/**
 * A database for one test file; returns its URL, its name and a function that drops it. On DATABASE_URL's server
 * unless `server` (a connection string of another server) is given. `migrated`: a copy of the template the global
 * setup migrated once (CREATE DATABASE … TEMPLATE, a file copy: far cheaper than running every migration again);
 * otherwise, or on another server, an empty one.
 */
export async function createTestDatabase(server = adminUrl(), opts: { migrated?: boolean } = {}): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = databaseName();
  const template = opts.migrated && server === adminUrl() ? process.env[TEMPLATE_ENV] : undefined;
  await admin((c) => c.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`), server);
  return {
    url: withDatabase(server, name),
    name,
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`), server).then(() => undefined),
  };
}
