/**
 * The durable list of records whose derived fields are stale, one row per (indexer, id). A sync with
 * use-queue-indexing writes its rows in its own transaction; the worker deletes them in the transaction that
 * re-derives them, so ids outlive any job, and a worker killed mid-batch leaves its ids here for the next one.
 * `version` tells the worker whether a row was marked again while it was indexing (then it stays). A row whose
 * indexing failed keeps its error; after INDEXING_MAX_ATTEMPTS failures it is dead (dead_at) until re-run.
 */
exports.up = async function up(knex) {
  await knex.raw(`
    CREATE SEQUENCE bulksync_index_pending_version;
    CREATE TABLE bulksync_index_pending (
      indexer text NOT NULL,
      id uuid NOT NULL,
      version bigint NOT NULL DEFAULT nextval('bulksync_index_pending_version'),
      queued_at timestamptz NOT NULL DEFAULT now(),
      not_before timestamptz NOT NULL DEFAULT now(),
      attempts integer NOT NULL DEFAULT 0,
      last_error text,
      failed_at timestamptz,
      dead_at timestamptz,
      PRIMARY KEY (indexer, id)
    );
    ALTER SEQUENCE bulksync_index_pending_version OWNED BY bulksync_index_pending.version;
    CREATE INDEX bulksync_index_pending_dead_idx ON bulksync_index_pending (indexer) WHERE dead_at IS NOT NULL;
  `);
};

exports.down = async function down(knex) {
  await knex.raw(`DROP TABLE IF EXISTS bulksync_index_pending; DROP SEQUENCE IF EXISTS bulksync_index_pending_version;`);
};
