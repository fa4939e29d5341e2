/**
 * The change feed (GET /api/_action/changes): every insert, update and delete of a tracked table is recorded in
 * change_log by database triggers, so that every write path — the sync writer's set-based statements, foreign-key
 * cascades, a hand-written UPDATE in psql — is captured without the application's help.
 *
 * Ordering: each entry carries the id of the transaction that wrote it (xid8, never wraps) and a sequence number.
 * Readers only hand out entries of transactions older than the oldest transaction still running
 * (pg_snapshot_xmin(pg_current_snapshot())): such a transaction has finished, so no entry can later appear
 * before a position a reader has already passed. See src/read/changes.ts.
 *
 * A user's migration that adds an entity calls, once:
 *   SELECT bulksync_track_changes('my_table', 'my_entity', ARRAY['id']);
 */

const TRACKED = [
  ['tax', ['id']],
  ['country', ['id']],
  ['category', ['id']],
  ['product_manufacturer', ['id']],
  ['product', ['id']],
  ['product_category', ['product_id', 'category_id']],
  ['property_group', ['id']],
  ['property_group_option', ['id']],
  ['product_property', ['product_id', 'option_id']],
  ['customer', ['id']],
  ['customer_address', ['id']],
];

exports.up = async function up(knex) {
  await knex.raw(`
    CREATE TABLE change_log (
      xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
      seq bigint GENERATED ALWAYS AS IDENTITY,
      entity text NOT NULL,
      -- The primary key by column name, e.g. {"id": "…"} or {"product_id": "…", "category_id": "…"}.
      key jsonb NOT NULL,
      op text NOT NULL CHECK (op IN ('upsert', 'delete')),
      at timestamptz NOT NULL DEFAULT statement_timestamp(),
      PRIMARY KEY (xid, seq)
    );
    CREATE INDEX change_log_entity_idx ON change_log (entity, xid, seq);
    CREATE INDEX change_log_at_idx ON change_log (at);

    -- The last position removed by pruning: a reader's cursor before it has missed entries.
    CREATE TABLE change_log_pruned (
      singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
      xid xid8 NOT NULL,
      seq bigint NOT NULL
    );

    -- One generic trigger function. Arguments: the entity name, then the key columns.
    -- Statement-level with transition tables: one INSERT … SELECT per statement, however many rows it touched.
    CREATE FUNCTION bulksync_log_changes() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
    DECLARE
      key_expr text;
    BEGIN
      SELECT 'jsonb_build_object(' || string_agg(format('%L, r.%I', c, c), ', ') || ')'
        INTO key_expr FROM unnest(TG_ARGV[1:TG_NARGS - 1]) AS c;
      IF TG_OP = 'INSERT' THEN
        EXECUTE format('INSERT INTO change_log (entity, key, op) SELECT %L, %s, ''upsert'' FROM new_rows r',
                       TG_ARGV[0], key_expr);
      ELSIF TG_OP = 'UPDATE' THEN
        -- An update that changes a key removes the old key: logged as its delete.
        EXECUTE format('INSERT INTO change_log (entity, key, op)
                          SELECT %1$L, %2$s, ''upsert'' FROM new_rows r
                          UNION ALL
                          SELECT %1$L, k, ''delete'' FROM (SELECT %2$s AS k FROM old_rows r
                                                           EXCEPT SELECT %2$s FROM new_rows r) gone',
                       TG_ARGV[0], key_expr);
      ELSE
        EXECUTE format('INSERT INTO change_log (entity, key, op) SELECT %L, %s, ''delete'' FROM old_rows r',
                       TG_ARGV[0], key_expr);
      END IF;
      RETURN NULL;
    END
    $fn$;

    -- Attaches (or re-attaches) the change triggers to a table. Idempotent.
    CREATE FUNCTION bulksync_track_changes(table_name text, entity text, key_columns text[]) RETURNS void
    LANGUAGE plpgsql AS $fn$
    DECLARE
      tbl regclass := table_name::regclass;
      args text;
      missing text;
    BEGIN
      IF coalesce(array_length(key_columns, 1), 0) = 0 THEN
        RAISE EXCEPTION 'bulksync_track_changes(%): key_columns must name the primary key columns', table_name;
      END IF;
      SELECT string_agg(c, ', ') INTO missing FROM unnest(key_columns) AS c
       WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a
                          WHERE a.attrelid = tbl AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped);
      IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'bulksync_track_changes(%): no column(s) % in that table', table_name, missing;
      END IF;
      SELECT string_agg(quote_literal(a), ', ') INTO args FROM unnest(array_prepend(entity, key_columns)) AS a;
      EXECUTE format('DROP TRIGGER IF EXISTS bulksync_changes_insert ON %s', tbl);
      EXECUTE format('DROP TRIGGER IF EXISTS bulksync_changes_update ON %s', tbl);
      EXECUTE format('DROP TRIGGER IF EXISTS bulksync_changes_delete ON %s', tbl);
      EXECUTE format('CREATE TRIGGER bulksync_changes_insert AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows
                      FOR EACH STATEMENT EXECUTE FUNCTION bulksync_log_changes(%s)', tbl, args);
      EXECUTE format('CREATE TRIGGER bulksync_changes_update AFTER UPDATE ON %s
                      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                      FOR EACH STATEMENT EXECUTE FUNCTION bulksync_log_changes(%s)', tbl, args);
      EXECUTE format('CREATE TRIGGER bulksync_changes_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows
                      FOR EACH STATEMENT EXECUTE FUNCTION bulksync_log_changes(%s)', tbl, args);
    END
    $fn$;

    -- Removes entries older than the retention and remembers the last position removed. Returns how many went.
    CREATE FUNCTION bulksync_prune_changes(retention interval) RETURNS bigint
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
    DECLARE
      removed bigint;
    BEGIN
      WITH gone AS (DELETE FROM change_log WHERE at < statement_timestamp() - retention RETURNING xid, seq),
           last AS (SELECT xid, seq FROM gone ORDER BY xid DESC, seq DESC LIMIT 1),
           mark AS (INSERT INTO change_log_pruned (singleton, xid, seq) SELECT true, xid, seq FROM last
                    ON CONFLICT (singleton) DO UPDATE SET xid = excluded.xid, seq = excluded.seq
                    WHERE (change_log_pruned.xid, change_log_pruned.seq) < (excluded.xid, excluded.seq)
                    RETURNING 1)
      SELECT count(*) INTO removed FROM gone;
      RETURN removed;
    END
    $fn$;
  `);
  for (const [table, keys] of TRACKED) {
    await knex.raw('SELECT bulksync_track_changes(?, ?, ?::text[])', [table, table, keys]);
  }
};

exports.down = async function down(knex) {
  for (const [table] of TRACKED) {
    for (const event of ['insert', 'update', 'delete']) {
      await knex.raw(`DROP TRIGGER IF EXISTS bulksync_changes_${event} ON ??`, [table]);
    }
  }
  await knex.raw(`
    DROP FUNCTION IF EXISTS bulksync_prune_changes(interval);
    DROP FUNCTION IF EXISTS bulksync_track_changes(text, text, text[]);
    DROP FUNCTION IF EXISTS bulksync_log_changes() CASCADE;
    DROP TABLE IF EXISTS change_log_pruned, change_log;
  `);
};
