/**
 * Translations, languages, currencies, sales channels, visibilities and custom fields (docs/sync-api.md, "Translations").
 *
 * Translated fields move out of their tables into `<table>_translation` (one row per record and language); the
 * values already stored become the default language's translations. The default language and the default
 * currency exist from here on and cannot be deleted (a delete fails like a restricted reference: FK_RESTRICT).
 */
const DEFAULT_LANGUAGE = '2fbb5fe2e29a4d70aa5854ce7ce3e20b';
const DEFAULT_CURRENCY = 'b7d2554b0ce847cd82f3ac9bd1c0dfca';
const ts = `created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz`;

/** table → its translated columns (name and type), in the order of the definitions. */
const TRANSLATED = {
  product: [['name', 'varchar(255)'], ['description', 'text']],
  category: [['name', 'varchar(255)']],
  country: [['name', 'varchar(255)']],
  product_manufacturer: [['name', 'varchar(255)'], ['description', 'text']],
  property_group: [['name', 'varchar(255)']],
  property_group_option: [['name', 'varchar(255)']],
};
/** Columns that exist before this migration (the others are new and only ever translated). */
const MOVED = { product: ['name', 'description'], category: ['name'], country: ['name'], product_manufacturer: ['name'], property_group: ['name'], property_group_option: ['name'] };
const CUSTOM_FIELDS = ['product', 'category', 'customer', 'product_manufacturer', 'property_group', 'property_group_option'];

function translationTable(table, columns) {
  return `
    CREATE TABLE ${table}_translation (
      ${table}_id uuid NOT NULL REFERENCES ${table}(id) ON DELETE CASCADE,
      language_id uuid NOT NULL REFERENCES language(id) ON DELETE CASCADE,
      ${columns.map(([c, t]) => `${c} ${t}`).join(',\n      ')},
      ${ts},
      PRIMARY KEY (${table}_id, language_id)
    );
    CREATE INDEX ${table}_translation_language_id_idx ON ${table}_translation(language_id);`;
}

exports.up = async function up(knex) {
  await knex.raw(`
    CREATE TABLE language (
      id uuid PRIMARY KEY,
      name varchar(255) NOT NULL,
      locale_code varchar(16) NOT NULL UNIQUE,
      ${ts}
    );
    INSERT INTO language (id, name, locale_code) VALUES ('${DEFAULT_LANGUAGE}', 'English', 'en-GB');
    CREATE TABLE currency (
      id uuid PRIMARY KEY,
      iso_code char(3) NOT NULL UNIQUE,
      symbol varchar(16) NOT NULL,
      factor double precision NOT NULL CHECK (factor > 0),
      position integer,
      ${ts}
    );
    INSERT INTO currency (id, iso_code, symbol, factor, position) VALUES ('${DEFAULT_CURRENCY}', 'EUR', '€', 1, 1);
    ${translationTable('currency', [['name', 'varchar(255)']])}
    INSERT INTO currency_translation (currency_id, language_id, name) VALUES ('${DEFAULT_CURRENCY}', '${DEFAULT_LANGUAGE}', 'Euro');
    CREATE TABLE sales_channel (
      id uuid PRIMARY KEY,
      active boolean NOT NULL DEFAULT true,
      ${ts}
    );
    ${translationTable('sales_channel', [['name', 'varchar(255)']])}
    CREATE TABLE product_visibility (
      id uuid PRIMARY KEY,
      product_id uuid NOT NULL REFERENCES product(id) ON DELETE CASCADE,
      sales_channel_id uuid NOT NULL REFERENCES sales_channel(id) ON DELETE CASCADE,
      visibility integer NOT NULL CHECK (visibility IN (10, 20, 30)),
      ${ts},
      UNIQUE (product_id, sales_channel_id)
    );
    CREATE INDEX product_visibility_sales_channel_id_idx ON product_visibility(sales_channel_id);

    -- The defaults are what every translation and price falls back to: deleting one is refused like a
    -- restricted reference.
    CREATE FUNCTION bulksync_keep_default() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      IF OLD.id = TG_ARGV[0]::uuid THEN
        RAISE EXCEPTION 'the default % cannot be deleted', TG_TABLE_NAME USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN OLD;
    END
    $fn$;
    CREATE TRIGGER keep_default_language BEFORE DELETE ON language FOR EACH ROW EXECUTE FUNCTION bulksync_keep_default('${DEFAULT_LANGUAGE}');
    CREATE TRIGGER keep_default_currency BEFORE DELETE ON currency FOR EACH ROW EXECUTE FUNCTION bulksync_keep_default('${DEFAULT_CURRENCY}');
  `);
  for (const [table, columns] of Object.entries(TRANSLATED)) {
    const moved = MOVED[table];
    await knex.raw(`
      ${translationTable(table, columns)}
      -- Values already stored become the default language's translations.
      INSERT INTO ${table}_translation (${table}_id, language_id, ${moved.join(', ')}, created_at, updated_at)
        SELECT id, '${DEFAULT_LANGUAGE}', ${moved.join(', ')}, created_at, updated_at FROM ${table};
      ALTER TABLE ${table} ${moved.map((c) => `DROP COLUMN ${c}`).join(', ')};
    `);
  }
  for (const table of CUSTOM_FIELDS) {
    await knex.raw(`ALTER TABLE ${table} ADD COLUMN custom_fields jsonb CHECK (custom_fields IS NULL OR jsonb_typeof(custom_fields) = 'object')`);
  }
  const tracked = [
    ['language', 'language', ['id']],
    ['currency', 'currency', ['id']],
    ['sales_channel', 'sales_channel', ['id']],
    ['product_visibility', 'product_visibility', ['id']],
    ...['currency', 'sales_channel', ...Object.keys(TRANSLATED)].map((t) => [`${t}_translation`, `${t}_translation`, [`${t}_id`, 'language_id']]),
  ];
  for (const [table, entity, keys] of tracked) {
    await knex.raw('SELECT bulksync_track_changes(?, ?, ?::text[])', [table, entity, keys]);
  }
};

exports.down = async function down(knex) {
  for (const table of CUSTOM_FIELDS) await knex.raw(`ALTER TABLE ${table} DROP COLUMN IF EXISTS custom_fields`);
  for (const [table, columns] of Object.entries(TRANSLATED)) {
    const moved = MOVED[table];
    const types = Object.fromEntries(columns);
    await knex.raw(`
      ALTER TABLE ${table} ${moved.map((c) => `ADD COLUMN ${c} ${types[c]}`).join(', ')};
      UPDATE ${table} t SET ${moved.map((c) => `${c} = tr.${c}`).join(', ')}
        FROM ${table}_translation tr WHERE tr.${table}_id = t.id AND tr.language_id = '${DEFAULT_LANGUAGE}';
      ${moved.includes('name') ? `UPDATE ${table} SET name = '' WHERE name IS NULL; ALTER TABLE ${table} ALTER COLUMN name SET NOT NULL;` : ''}
      DROP TABLE ${table}_translation;
    `);
  }
  await knex.raw(`
    DROP TABLE product_visibility, sales_channel_translation, sales_channel, currency_translation, currency, language;
    DROP FUNCTION bulksync_keep_default();
  `);
};
