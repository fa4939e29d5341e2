/**
 * Indexes for the storefront's reads (search shapes measured by `npm run bench -- --reads`):
 * - pg_trgm GIN on product_translation.name: `contains` / `prefix` / `suffix` on a product's name (ILIKE '%…%')
 *   find their rows through the index instead of reading every translation. pg_trgm ships with PostgreSQL (Debian's
 *   packages and the embedded server alike) and is a trusted extension: a database owner may create it.
 * - (language_id, name) on product_translation: a listing sorted by name walks the names in order.
 * - (stock DESC NULLS FIRST, id) on product: a listing sorted by stock (both directions share it for the first
 *   key), deep pages included, without sorting the table.
 * - GIN on product.category_tree: a category listing (`equals categoryTree`) finds its products by index.
 * - A finer sample of product_translation.name (statistics target 1000): PostgreSQL estimates how many names an
 *   infix pattern (`contains`) matches from that sample. With the default one it guesses a handful, sorts them
 *   after a trigram scan of thousands, and a `contains` sorted by name costs tens of milliseconds; with a finer
 *   one it walks the names in order and stops at the page's end.
 */
exports.up = async function up(knex) {
  await knex.raw('CREATE EXTENSION IF NOT EXISTS pg_trgm');
  await knex.raw(`
    CREATE INDEX product_translation_name_trgm_idx ON product_translation USING gin (name gin_trgm_ops);
    CREATE INDEX product_translation_language_name_idx ON product_translation (language_id, name, product_id);
    CREATE INDEX product_stock_idx ON product (stock DESC NULLS FIRST, id);
    CREATE INDEX product_category_tree_idx ON product USING gin (category_tree);
    ALTER TABLE product_translation ALTER COLUMN name SET STATISTICS 1000;`);
};

exports.down = async function down(knex) {
  await knex.raw(`
    ALTER TABLE product_translation ALTER COLUMN name SET STATISTICS -1;
    DROP INDEX IF EXISTS product_category_tree_idx;
    DROP INDEX IF EXISTS product_stock_idx;
    DROP INDEX IF EXISTS product_translation_language_name_idx;
    DROP INDEX IF EXISTS product_translation_name_trgm_idx;`);
  // The extension stays: other objects may have come to use it.
};
