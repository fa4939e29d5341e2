/**
 * Point-of-sale inventory (examples/pos-inventory/schemas): stores, their articles, the articles' barcodes.
 * Constraints and delete rules live in the database, as for the catalog; the change feed tracks the three tables.
 */
const ts = `created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz`;

exports.up = async function up(knex) {
  await knex.raw(`
    CREATE TABLE store (
      id uuid PRIMARY KEY,
      name varchar(255) NOT NULL,
      external_id varchar(255) UNIQUE,
      ${ts}
    );
    CREATE TABLE store_item (
      id uuid PRIMARY KEY,
      store_id uuid NOT NULL REFERENCES store(id) ON DELETE CASCADE,
      external_id varchar(255) NOT NULL,
      name varchar(255) NOT NULL,
      price double precision CHECK (price >= 0),
      in_stock integer NOT NULL DEFAULT 0 CHECK (in_stock >= 0),
      active boolean NOT NULL DEFAULT true,
      ${ts},
      UNIQUE (store_id, external_id)
    );
    CREATE TABLE store_item_barcode (
      id uuid PRIMARY KEY,
      item_id uuid NOT NULL REFERENCES store_item(id) ON DELETE CASCADE,
      code varchar(64) NOT NULL,
      ${ts},
      UNIQUE (item_id, code)
    );
    SELECT bulksync_track_changes('store', 'store', ARRAY['id']);
    SELECT bulksync_track_changes('store_item', 'store_item', ARRAY['id']);
    SELECT bulksync_track_changes('store_item_barcode', 'store_item_barcode', ARRAY['id']);
  `);
};

exports.down = async function down(knex) {
  await knex.raw('DROP TABLE IF EXISTS store_item_barcode, store_item, store CASCADE');
};
