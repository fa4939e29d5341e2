/**
 * The product listing: one row per product and category in its `category_tree` (the category itself and its
 * ancestors), holding what a category page sorts, filters and counts by: the name in the default language, the
 * manufacturer, the stock, `active` and the ids of the product's property options. Its index
 * (category_id, name, product_id) INCLUDE (…) holds a category's products in listing order with those columns, so
 * that a page reads its 24 entries and the total and facets read the category's entries only, instead of the
 * category's product rows scattered over the table (at 1,000,000 products a leaf category's ~10,000 products lay on
 * ~9,000 heap pages; see docs/PERFORMANCE.md, "Reads").
 *
 * The database keeps it, not an indexer: statement triggers on product, product_translation and product_property
 * recompute the rows of the products a statement touched. It then always answers what the product rows answer,
 * whatever the request's indexing mode (a listing kept by the category-tree indexer would hold a stale name or stock
 * under `disable-indexing` or until the queue ran). Rows follow `product.category_tree` exactly, as the read path's
 * `equals categoryTree` filter does.
 *
 * Each recomputation first locks its products (`FOR NO KEY UPDATE`, in id order, the lock a product write and the
 * indexers take) and then reads them in a statement of its own: two transactions that change one product's name and
 * properties concurrently then recompute one after the other, the second from what the first committed, instead of
 * each writing back a row computed without the other's change.
 */
const DEFAULT_LANGUAGE = '2fbb5fe2-e29a-4d70-aa58-54ce7ce3e20b';

exports.up = async function up(knex) {
  await knex.raw(`
    CREATE TABLE product_listing (
      category_id uuid NOT NULL,
      product_id uuid NOT NULL REFERENCES product(id) ON DELETE CASCADE,
      name varchar(255),
      manufacturer_id uuid,
      stock integer NOT NULL,
      active boolean NOT NULL,
      property_ids uuid[] NOT NULL,
      PRIMARY KEY (product_id, category_id)
    );
    CREATE INDEX product_listing_category_name_idx ON product_listing (category_id, name, product_id)
      INCLUDE (manufacturer_id, stock, active, property_ids);

    CREATE FUNCTION bulksync_product_listing_refresh(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      IF ids IS NULL OR cardinality(ids) = 0 THEN RETURN; END IF;
      -- Joins on unnest(ids) rather than "= ANY(ids)": the planner then reads the products, names and options by
      -- key; with ANY it hashed the whole translation table for a large statement.
      PERFORM 1 FROM unnest(ids) u(id) JOIN product p ON p.id = u.id ORDER BY p.id FOR NO KEY UPDATE OF p;
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
    SET enable_hashjoin = off SET enable_mergejoin = off;

    -- A new product is listed once it has a category tree (usually set later by the category-tree indexer).
    CREATE FUNCTION bulksync_product_listing_product_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM bulksync_product_listing_refresh(ARRAY(SELECT n.id FROM new_rows n WHERE cardinality(n.category_tree) > 0));
      RETURN NULL;
    END $$;
    -- Only changes of what the listing holds cost a recomputation (a description or a price does not). The old and
    -- new rows are joined by a statement planned for each call (EXECUTE): PL/pgSQL keeps the first plan of a
    -- statement without parameters, and a nested loop chosen for a one-row update took seconds for 10,000 rows.
    CREATE FUNCTION bulksync_product_listing_product_update() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE ids uuid[];
    BEGIN
      EXECUTE $q$SELECT ARRAY(
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE (n.category_tree, n.manufacturer_id, n.stock, n.active) IS DISTINCT FROM (o.category_tree, o.manufacturer_id, o.stock, o.active))$q$ INTO ids;
      PERFORM bulksync_product_listing_refresh(ids);
      RETURN NULL;
    END $$;
    -- The listing holds the default language's name; other languages' rows do not change it.
    CREATE FUNCTION bulksync_product_listing_translation() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE ids uuid[];
    BEGIN
      IF TG_OP = 'INSERT' THEN
        ids := ARRAY(SELECT DISTINCT n.product_id FROM new_rows n WHERE n.language_id = '${DEFAULT_LANGUAGE}');
      ELSIF TG_OP = 'DELETE' THEN
        ids := ARRAY(SELECT DISTINCT o.product_id FROM old_rows o WHERE o.language_id = '${DEFAULT_LANGUAGE}');
      ELSE
        EXECUTE $q$SELECT ARRAY(
          SELECT n.product_id FROM new_rows n LEFT JOIN old_rows o ON o.product_id = n.product_id AND o.language_id = n.language_id
           WHERE n.language_id = '${DEFAULT_LANGUAGE}' AND (o.product_id IS NULL OR n.name IS DISTINCT FROM o.name)
          UNION SELECT o.product_id FROM old_rows o LEFT JOIN new_rows n ON n.product_id = o.product_id AND n.language_id = o.language_id
           WHERE o.language_id = '${DEFAULT_LANGUAGE}' AND n.product_id IS NULL)$q$ INTO ids;
      END IF;
      PERFORM bulksync_product_listing_refresh(ids);
      RETURN NULL;
    END $$;
    CREATE FUNCTION bulksync_product_listing_property() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        PERFORM bulksync_product_listing_refresh(ARRAY(SELECT DISTINCT n.product_id FROM new_rows n));
      ELSIF TG_OP = 'DELETE' THEN
        PERFORM bulksync_product_listing_refresh(ARRAY(SELECT DISTINCT o.product_id FROM old_rows o));
      ELSE
        PERFORM bulksync_product_listing_refresh(ARRAY(SELECT n.product_id FROM new_rows n UNION SELECT o.product_id FROM old_rows o));
      END IF;
      RETURN NULL;
    END $$;

    CREATE TRIGGER product_listing_insert AFTER INSERT ON product REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION bulksync_product_listing_product_insert();
    CREATE TRIGGER product_listing_update AFTER UPDATE ON product REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION bulksync_product_listing_product_update();
    CREATE TRIGGER product_listing_insert AFTER INSERT ON product_translation REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION bulksync_product_listing_translation();
    CREATE TRIGGER product_listing_update AFTER UPDATE ON product_translation REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION bulksync_product_listing_translation();
    CREATE TRIGGER product_listing_delete AFTER DELETE ON product_translation REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION bulksync_product_listing_translation();
    CREATE TRIGGER product_listing_insert AFTER INSERT ON product_property REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION bulksync_product_listing_property();
    CREATE TRIGGER product_listing_update AFTER UPDATE ON product_property REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION bulksync_product_listing_property();
    CREATE TRIGGER product_listing_delete AFTER DELETE ON product_property REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION bulksync_product_listing_property();

    -- Products already stored.
    SELECT bulksync_product_listing_refresh(ARRAY(SELECT id FROM product WHERE cardinality(category_tree) > 0));
    ANALYZE product_listing;
  `);
};

exports.down = async function down(knex) {
  await knex.raw(`
    DROP TRIGGER product_listing_insert ON product;
    DROP TRIGGER product_listing_update ON product;
    DROP TRIGGER product_listing_insert ON product_translation;
    DROP TRIGGER product_listing_update ON product_translation;
    DROP TRIGGER product_listing_delete ON product_translation;
    DROP TRIGGER product_listing_insert ON product_property;
    DROP TRIGGER product_listing_update ON product_property;
    DROP TRIGGER product_listing_delete ON product_property;
    DROP FUNCTION bulksync_product_listing_product_insert(), bulksync_product_listing_product_update(),
      bulksync_product_listing_translation(), bulksync_product_listing_property(), bulksync_product_listing_refresh(uuid[]);
    DROP TABLE product_listing;
  `);
};
