import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { startEmbedded } from '../src/db/embedded';
import { createLogger } from '../src/observability/logger';

export const ROOT = path.resolve(__dirname, '..');

/** The fresh database the bench writes to, on the machine's server or the embedded one. */
export interface BenchDatabase {
  /** URL of the fresh database (given to the server and to the raw clients). */
  url: string;
  name: string;
  /** `DATABASE_URL` or `embedded (.data/bench-pg)`: where the database lives. */
  origin: string;
  /** Drops the database and stops the embedded server, if one was started. */
  dispose(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = '/' + database;
  return u.toString();
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * DATABASE_URL when set, else the embedded PostgreSQL of src/db/embedded.ts in .data/bench-pg; either way a new
 * database `bulksync_bench_<random>` is created on that server and dropped by `dispose`.
 */
export async function openBenchDatabase(): Promise<BenchDatabase> {
  const given = process.env.DATABASE_URL;
  let adminUrl: string;
  let stop: (() => Promise<void>) | undefined;
  let origin: string;
  if (given) {
    adminUrl = given;
    origin = 'DATABASE_URL';
  } else {
    const embedded = await startEmbedded(path.join(ROOT, '.data/bench-pg'), createLogger('warn'));
    adminUrl = embedded.url;
    stop = embedded.stop;
    origin = 'embedded (.data/bench-pg)';
  }
  const name = `bulksync_bench_${randomBytes(4).toString('hex')}`;
  try {
    await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  } catch (e) {
    await stop?.();
    throw e;
  }
  return {
    url: withDatabase(adminUrl, name),
    name,
    origin,
    dispose: async () => {
      try {
        await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      } finally {
        await stop?.();
      }
    },
  };
}

export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

export async function serverVersion(client: pg.Client): Promise<string> {
  const { rows } = await client.query<{ version: string }>('select version()');
  return rows[0]!.version;
}

/** Empties the catalog tables a case writes (the tax row stays), so every method starts from the same state. */
export async function resetTables(client: pg.Client): Promise<void> {
  // product_listing: the read side's listing rows (kept by triggers on the product tables), emptied with them;
  // product_search: the products' search vectors.
  await client.query('TRUNCATE product_listing, product_search, product_category, product_property, product_visibility, product_translation, product, category_translation, category, product_manufacturer_translation, product_manufacturer');
  await client.query('VACUUM ANALYZE product');
  await client.query('VACUUM ANALYZE category');
  await client.query('VACUUM ANALYZE product_category');
}

/** Flushes dirty pages before a timed pass, so that no pass pays for the checkpoint of the one before. */
export async function settle(client: pg.Client): Promise<void> {
  await client.query('CHECKPOINT');
}

export async function deadlockCount(client: pg.Client): Promise<number> {
  await client.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await client.query<{ deadlocks: string }>(
    'SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(rows[0]?.deadlocks ?? 0);
}
