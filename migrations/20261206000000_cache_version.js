/**
 * A version of the near-static rows every sync reads before it plans (languages, currencies, the event names of
 * active webhooks). API processes cache those rows and read only this version per request; the triggers below bump
 * it in the transaction of every write that changes them, so a process never plans with rows another process
 * changed (issue: round trips of a small sync). Delivery counters of a webhook do not bump it.
 */
exports.up = async function up(knex) {
  await knex.raw(`
    CREATE TABLE bulksync_cache_version (
      id boolean PRIMARY KEY DEFAULT true CHECK (id),
      version bigint NOT NULL
    );
    INSERT INTO bulksync_cache_version (version) VALUES (1);
    CREATE FUNCTION bulksync_bump_cache_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE bulksync_cache_version SET version = version + 1;
      RETURN NULL;
    END $$;
    CREATE TRIGGER bulksync_cache_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON language
      FOR EACH STATEMENT EXECUTE FUNCTION bulksync_bump_cache_version();
    CREATE TRIGGER bulksync_cache_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON currency
      FOR EACH STATEMENT EXECUTE FUNCTION bulksync_bump_cache_version();
    CREATE TRIGGER bulksync_cache_version AFTER INSERT OR DELETE OR TRUNCATE ON webhook
      FOR EACH STATEMENT EXECUTE FUNCTION bulksync_bump_cache_version();
    CREATE TRIGGER bulksync_cache_version_update AFTER UPDATE ON webhook
      FOR EACH ROW WHEN (OLD.active IS DISTINCT FROM NEW.active OR OLD.event_name IS DISTINCT FROM NEW.event_name)
      EXECUTE FUNCTION bulksync_bump_cache_version();
  `);
};

exports.down = async function down(knex) {
  await knex.raw(`
    DROP TRIGGER IF EXISTS bulksync_cache_version_update ON webhook;
    DROP TRIGGER IF EXISTS bulksync_cache_version ON webhook;
    DROP TRIGGER IF EXISTS bulksync_cache_version ON currency;
    DROP TRIGGER IF EXISTS bulksync_cache_version ON language;
    DROP FUNCTION IF EXISTS bulksync_bump_cache_version();
    DROP TABLE IF EXISTS bulksync_cache_version;
  `);
};
