/**
 * A product linked to no category has no category tree: null, as Shopware answers, instead of an empty list. The
 * product.category-tree indexer then has nothing to write for a product without categories, and no longer runs on
 * writes of the products themselves (only their links and their categories' parents change a tree).
 */
exports.up = async function up(knex) {
  await knex.raw(`UPDATE product SET category_tree = NULL WHERE category_tree = '{}'`);
};

exports.down = async function down(knex) {
  // Only products linked to nothing: a product with links and no tree was not indexed yet, and stays so.
  await knex.raw(`UPDATE product p SET category_tree = '{}' WHERE p.category_tree IS NULL AND NOT EXISTS (SELECT 1 FROM product_category c WHERE c.product_id = p.id)`);
};
