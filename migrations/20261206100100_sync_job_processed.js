/**
 * A sync job's progress separates the records processed (written inside its still open transaction) from those
 * committed (`done`, which stays 0 until the job's transaction commits): a cancelled or failed job processed
 * records but committed none.
 */
exports.up = async function up(knex) {
  await knex.raw(`ALTER TABLE bulksync_sync_job ADD COLUMN processed integer NOT NULL DEFAULT 0`);
};

exports.down = async function down(knex) {
  await knex.raw(`ALTER TABLE bulksync_sync_job DROP COLUMN processed`);
};
