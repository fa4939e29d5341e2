/**
 * Indexing support: full-text search over product.search_keywords, and bookkeeping of the indexing workers
 * (their heartbeats, so that jobs held by a worker that died can be released; and each indexer's last run).
 * The queue itself is graphile-worker's schema, created by its own migrations at startup.
 */
exports.up = async function up(knex) {
  await knex.raw(`
    CREATE INDEX product_search_keywords_idx ON product USING gin (search_keywords);
    CREATE TABLE bulksync_worker (
      worker_id text PRIMARY KEY,
      heartbeat_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE bulksync_indexer_state (
      indexer text PRIMARY KEY,
      last_completed_at timestamptz,
      last_error text,
      last_error_at timestamptz
    );
  `);
};

exports.down = async function down(knex) {
  await knex.raw(`
    DROP TABLE IF EXISTS bulksync_indexer_state, bulksync_worker;
    DROP INDEX IF EXISTS product_search_keywords_idx;
  `);
};
