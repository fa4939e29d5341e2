/**
 * Updates no reader can see make no change-feed entry and do not recompute the product listing: the search
 * indexer's rewrite of `product.search_keywords` (a field no read returns, `read: false`) logged a second entry per
 * product in the transaction that had just logged the product's write (inline indexing), or an entry for an
 * invisible change later (queued indexing), and ran the listing's comparison for nothing: 3.9 of the 14 ms that
 * one recomputation of 100 products took (EXPLAIN ANALYZE, 20,000 products stored).
 *
 * The indexer says so for its statement with the transaction-local setting `bulksync.unseen_update = on` (and off
 * after it); the two trigger functions return at once under it. Other SQL never sets it.
 */
const LOG_CHANGES = (early) => `
    CREATE OR REPLACE FUNCTION bulksync_log_changes() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
    DECLARE
      key_expr text;
    BEGIN
      ${early}
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
    $fn$;`;

const LISTING_UPDATE = (early) => `
    CREATE OR REPLACE FUNCTION bulksync_product_listing_product_update() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE ids uuid[];
    BEGIN
      ${early}
      EXECUTE $q$SELECT ARRAY(
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE (n.category_tree, n.manufacturer_id, n.stock, n.active) IS DISTINCT FROM (o.category_tree, o.manufacturer_id, o.stock, o.active))$q$ INTO ids;
      PERFORM bulksync_product_listing_refresh(ids);
      RETURN NULL;
    END $$;`;

const UNSEEN = `IF TG_OP = 'UPDATE' AND current_setting('bulksync.unseen_update', true) = 'on' THEN RETURN NULL; END IF;`;

exports.up = async function up(knex) {
  await knex.raw(LOG_CHANGES(UNSEEN) + LISTING_UPDATE(UNSEEN));
};

exports.down = async function down(knex) {
  await knex.raw(LOG_CHANGES('') + LISTING_UPDATE(''));
};
