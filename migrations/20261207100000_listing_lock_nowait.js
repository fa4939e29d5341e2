/**
 * The listing's recomputation locks the products it recomputes (see 20261207000000_product_listing.js). A statement
 * of the sync endpoint's one-statement path may change a product's translation rows or links while its own row is
 * stored as sent, so its product row was not locked by the request's product statement: the trigger would lock it
 * there, after the translation rows, out of the key order in which every request locks products first. Two such
 * requests deadlock (the bench's load cases had up to 7 in 30 s).
 *
 * Such a statement says so with a leading comment (`/* bulksync:lock-nowait *\/`, write/upsert-set.ts): the
 * recomputation then takes the lock NOWAIT, and a product another transaction holds fails the statement (55P03)
 * instead of waiting; the endpoint rolls the chunk back to its savepoint and writes it on the path that locks every
 * stored product of the chunk first, in key order. Any other statement (raw SQL, the indexers, that path) waits as
 * before. current_query() is the client's statement text, whatever statement fired the trigger.
 */
const DEFAULT_LANGUAGE = '2fbb5fe2-e29a-4d70-aa58-54ce7ce3e20b';

function refresh(lock) {
  return `
    CREATE OR REPLACE FUNCTION bulksync_product_listing_refresh(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      IF ids IS NULL OR cardinality(ids) = 0 THEN RETURN; END IF;
      -- Joins on unnest(ids) rather than "= ANY(ids)": the planner then reads the products, names and options by
      -- key; with ANY it hashed the whole translation table for a large statement.
      ${lock}
      -- Locked, the products' trees cannot change before this transaction ends: those with no category and no
      -- listing row (an import before the category-tree indexer ran) need nothing more.
      ids := ARRAY(SELECT p.id FROM unnest(ids) u(id) JOIN product p ON p.id = u.id
                    WHERE cardinality(p.category_tree) > 0 OR EXISTS (SELECT 1 FROM product_listing l WHERE l.product_id = p.id));
      IF cardinality(ids) = 0 THEN RETURN; END IF;
      -- Only rows that differ are written: an unchanged row costs a read, not a new row version in two indexes.
      WITH want AS (
        SELECT c.id AS category_id, p.id AS product_id, p.name, p.manufacturer_id, p.stock, p.active, p.property_ids
          FROM (SELECT p.id, p.category_tree, p.manufacturer_id, p.stock, p.active,
                       (SELECT tr.name FROM product_translation tr WHERE tr.product_id = p.id AND tr.language_id = '${DEFAULT_LANGUAGE}') AS name,
                       COALESCE((SELECT array_agg(pp.option_id ORDER BY pp.option_id) FROM product_property pp WHERE pp.product_id = p.id), '{}') AS property_ids
                  FROM unnest(ids) u(id) JOIN product p ON p.id = u.id
                OFFSET 0) p -- a step of its own: the name and options are read once per product, not once per category
          CROSS JOIN LATERAL (SELECT DISTINCT x FROM unnest(p.category_tree) x WHERE x IS NOT NULL) c(id)),
      have AS (SELECT l.category_id, l.product_id, l.name, l.manufacturer_id, l.stock, l.active, l.property_ids
                 FROM unnest(ids) u(id) JOIN product_listing l ON l.product_id = u.id),
      gone AS (DELETE FROM product_listing l
                USING (SELECT h.product_id, h.category_id FROM have h EXCEPT SELECT w.product_id, w.category_id FROM want w) g
                WHERE l.product_id = g.product_id AND l.category_id = g.category_id)
      INSERT INTO product_listing (category_id, product_id, name, manufacturer_id, stock, active, property_ids)
      SELECT * FROM (SELECT * FROM want EXCEPT SELECT * FROM have) changed
      ON CONFLICT (product_id, category_id) DO UPDATE
        SET name = EXCLUDED.name, manufacturer_id = EXCLUDED.manufacturer_id, stock = EXCLUDED.stock,
            active = EXCLUDED.active, property_ids = EXCLUDED.property_ids;
    END $$
    -- Every statement here reads a chunk's products by key: a hash join would read a whole table for them (the
    -- planner guesses the size of unnest(ids) poorly and chose one for the listing's three million rows).
    SET enable_hashjoin = off SET enable_mergejoin = off;`;
}

const LOCK = 'PERFORM 1 FROM unnest(ids) u(id) JOIN product p ON p.id = u.id ORDER BY p.id FOR NO KEY UPDATE OF p';

exports.up = async function up(knex) {
  await knex.raw(
    refresh(`IF starts_with(current_query(), '/* bulksync:lock-nowait */') THEN
        ${LOCK} NOWAIT;
      ELSE
        ${LOCK};
      END IF;`),
  );
};

exports.down = async function down(knex) {
  await knex.raw(refresh(`${LOCK};`));
};
