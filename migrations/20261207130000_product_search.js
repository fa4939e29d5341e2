/**
 * product.searchKeywords moves out of the product row into a table of its own, `product_search` (one row per
 * product, deleted with it).
 *
 * Why: the vector's GIN index was one of product's indexes, and PostgreSQL gives every index an entry for each new
 * row version that is not a HOT update. So every write of a product, a stock change included, put all of its
 * keywords into the GIN index again, and the search indexer's rewrite of the keywords made a second version of the
 * product row with entries in all of its indexes. The GIN index's pending list, filled by those entries, was then
 * merged by whichever request crossed its limit: 100–360 ms for that request. In a table of its own, the vector is
 * written only when the text changes, and a product write no longer touches it (nor fills the pending list).
 */
exports.up = async function up(knex) {
  await knex.raw(`
    CREATE TABLE product_search (
      product_id uuid PRIMARY KEY REFERENCES product (id) ON DELETE CASCADE,
      search_keywords tsvector NOT NULL
    );
    INSERT INTO product_search (product_id, search_keywords)
      SELECT id, search_keywords FROM product WHERE search_keywords IS NOT NULL ORDER BY id;
    -- GIN's default pending list (fastupdate): with fastupdate = off each write merged its own words into the
    -- index, which cost a 100-product inline sync about 3 ms more and lost more under load than the rarer merges cost.
    CREATE INDEX product_search_keywords_idx2 ON product_search USING gin (search_keywords);
    DROP INDEX IF EXISTS product_search_keywords_idx;
    ALTER INDEX product_search_keywords_idx2 RENAME TO product_search_keywords_idx;
    ALTER TABLE product DROP COLUMN search_keywords;
  `);
};

exports.down = async function down(knex) {
  await knex.raw(`
    ALTER TABLE product ADD COLUMN search_keywords tsvector;
    UPDATE product p SET search_keywords = s.search_keywords FROM product_search s WHERE s.product_id = p.id;
    DROP TABLE product_search;
    CREATE INDEX product_search_keywords_idx ON product USING gin (search_keywords);
  `);
};
