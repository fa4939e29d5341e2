/**
 * Integrations: the OAuth clients of the API. Secrets are stored as scrypt hashes only; a revoked integration keeps
 * its row (and its id in the logs) but gets no token and its tokens stop working.
 */
exports.up = async function up(knex) {
  await knex.raw(`
    CREATE TABLE bulksync_integration (
      id uuid PRIMARY KEY,
      client_id text NOT NULL UNIQUE,
      name text NOT NULL,
      secret_hash text NOT NULL,
      privileges text[] NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz
    );
  `);
};

exports.down = async function down(knex) {
  await knex.raw('DROP TABLE IF EXISTS bulksync_integration');
};
