/**
 * PL/pgSQL keeps the plans of a function's statements for the life of a connection, and after five executions may
 * switch a statement with parameters to a generic plan, costed with the table sizes of that moment. A generic plan
 * made while the product table was nearly empty (a fresh install, or the tables just emptied) reads the product
 * table whole for each id: the listing's recomputation then costs more with every product already stored, and a
 * 100,000-product import grew from 0.1 s to seconds per chunk of 2,000 (measured: an insert of 2,000 translation rows
 * took 97 ms with 2,000 products stored and 940 ms with 20,000 under a generic plan; 45–60 ms throughout with
 * this migration). Seen on PostgreSQL 18 (the embedded server), possible on any version. The category cycle check
 * did the same per row: 2,000 categories took 0.3 s into an emptied table and 2.3 s with 8,000 stored under a generic
 * plan, 0.06 s throughout with this migration.
 *
 * - bulksync_product_listing_refresh (once per statement): planned for each call, with the ids it gets and the
 *   tables as they are (force_custom_plan), and never by reading a whole table for a chunk's products.
 * - bulksync_category_parent_cycle (once per category row written): keeps its cached plan (planning per row would
 *   cost more than the check), but that plan walks up the tree through the category key, not by reading the table.
 */
exports.up = async function up(knex) {
  await knex.raw(`
    ALTER FUNCTION bulksync_product_listing_refresh(uuid[]) SET plan_cache_mode = force_custom_plan;
    ALTER FUNCTION bulksync_product_listing_refresh(uuid[]) SET enable_seqscan = off;
    ALTER FUNCTION bulksync_category_parent_cycle() SET enable_seqscan = off;
  `);
};

exports.down = async function down(knex) {
  await knex.raw(`
    ALTER FUNCTION bulksync_product_listing_refresh(uuid[]) RESET plan_cache_mode;
    ALTER FUNCTION bulksync_product_listing_refresh(uuid[]) RESET enable_seqscan;
    ALTER FUNCTION bulksync_category_parent_cycle() RESET enable_seqscan;
  `);
};
