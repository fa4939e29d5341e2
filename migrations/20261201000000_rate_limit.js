/**
 * Rate-limit counters shared by every API process (one row per limited key and window). UNLOGGED: a counter is
 * worth no WAL, and losing the table in a crash only resets the windows. Rows of windows that ended are
 * overwritten by the next hit of their key and pruned now and then by the store.
 */
exports.up = async function up(knex) {
  await knex.raw(`
    CREATE UNLOGGED TABLE bulksync_rate_limit (
      key text PRIMARY KEY,
      hits integer NOT NULL,
      reset_at timestamptz NOT NULL
    );
  `);
};

exports.down = async function down(knex) {
  await knex.raw(`DROP TABLE IF EXISTS bulksync_rate_limit`);
};
