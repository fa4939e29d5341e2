/**
 * A category whose parent would be itself or one of its descendants is refused by the database, whatever wrote it:
 * the trigger walks up from the new parent and raises a check violation (constraint `category_parent_cycle`, key
 * `parent_id`) when it meets the category itself. The sync API answers it as VALUE_INVALID at `parentId`.
 *
 * It runs at the end of each statement (a constraint trigger, not deferred), so a set-based write that links new
 * categories to each other in one statement is checked with all of its rows in place.
 */
exports.up = async function up(knex) {
  await knex.raw(`
    CREATE FUNCTION bulksync_category_parent_cycle() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (
        WITH RECURSIVE up(id, depth) AS (
          SELECT NEW.parent_id, 1
          UNION ALL
          SELECT c.parent_id, up.depth + 1 FROM category c JOIN up ON c.id = up.id
           WHERE c.parent_id IS NOT NULL AND up.depth < 10000
        )
        SELECT 1 FROM up WHERE up.id = NEW.id
      ) THEN
        RAISE EXCEPTION 'category % would be its own ancestor', NEW.id
          USING ERRCODE = 'check_violation', CONSTRAINT = 'category_parent_cycle', COLUMN = 'parent_id',
                DETAIL = format('Key (parent_id)=(%s) would make a cycle.', NEW.parent_id);
      END IF;
      RETURN NULL;
    END $$;
    CREATE CONSTRAINT TRIGGER category_parent_cycle AFTER INSERT OR UPDATE OF parent_id ON category
      FOR EACH ROW WHEN (NEW.parent_id IS NOT NULL) EXECUTE FUNCTION bulksync_category_parent_cycle();
  `);
};

exports.down = async function down(knex) {
  await knex.raw(`DROP TRIGGER category_parent_cycle ON category; DROP FUNCTION bulksync_category_parent_cycle();`);
};
