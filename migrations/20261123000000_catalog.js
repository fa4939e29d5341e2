/**
 * The default commerce catalog (see schemas/). Constraints and delete rules live in the database itself,
 * so that a write that slips past validation still cannot break them.
 */
const ts = `created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz`;

exports.up = async function up(knex) {
  await knex.raw(`
    CREATE TABLE tax (
      id uuid PRIMARY KEY,
      name varchar(255) NOT NULL,
      tax_rate double precision NOT NULL CHECK (tax_rate BETWEEN 0 AND 100),
      position integer NOT NULL DEFAULT 0,
      ${ts}
    );
    CREATE TABLE country (
      id uuid PRIMARY KEY,
      name varchar(255) NOT NULL,
      iso char(2) UNIQUE,
      active boolean NOT NULL DEFAULT true,
      position integer,
      ${ts}
    );
    CREATE TABLE category (
      id uuid PRIMARY KEY,
      parent_id uuid REFERENCES category(id) ON DELETE CASCADE,
      name varchar(255) NOT NULL,
      active boolean NOT NULL DEFAULT true,
      position integer,
      external_id varchar(255) UNIQUE,
      path uuid[],
      level integer,
      child_count integer,
      breadcrumb jsonb,
      ${ts}
    );
    CREATE INDEX category_parent_id_idx ON category(parent_id);
    CREATE TABLE product_manufacturer (
      id uuid PRIMARY KEY,
      name varchar(255) NOT NULL,
      link varchar(2048),
      ${ts}
    );
    CREATE TABLE product (
      id uuid PRIMARY KEY,
      product_number varchar(64) NOT NULL UNIQUE,
      name varchar(255) NOT NULL,
      description text,
      stock integer NOT NULL CHECK (stock >= 0),
      price jsonb NOT NULL,
      tax_id uuid NOT NULL REFERENCES tax(id) ON DELETE RESTRICT,
      manufacturer_id uuid REFERENCES product_manufacturer(id) ON DELETE SET NULL,
      active boolean NOT NULL DEFAULT true,
      ean varchar(64),
      weight double precision CHECK (weight >= 0),
      external_id varchar(255) UNIQUE,
      category_tree uuid[],
      search_keywords tsvector,
      ${ts}
    );
    CREATE INDEX product_tax_id_idx ON product(tax_id);
    CREATE INDEX product_manufacturer_id_idx ON product(manufacturer_id);
    CREATE TABLE product_category (
      product_id uuid NOT NULL REFERENCES product(id) ON DELETE CASCADE,
      category_id uuid NOT NULL REFERENCES category(id) ON DELETE CASCADE,
      ${ts},
      PRIMARY KEY (product_id, category_id)
    );
    CREATE INDEX product_category_category_id_idx ON product_category(category_id);
    CREATE TABLE property_group (
      id uuid PRIMARY KEY,
      name varchar(255) NOT NULL,
      display_type varchar(16) NOT NULL DEFAULT 'text' CHECK (display_type IN ('text', 'color', 'media')),
      position integer,
      ${ts}
    );
    CREATE TABLE property_group_option (
      id uuid PRIMARY KEY,
      group_id uuid NOT NULL REFERENCES property_group(id) ON DELETE CASCADE,
      name varchar(255) NOT NULL,
      position integer,
      color_hex_code varchar(9),
      ${ts}
    );
    CREATE INDEX property_group_option_group_id_idx ON property_group_option(group_id);
    CREATE TABLE product_property (
      product_id uuid NOT NULL REFERENCES product(id) ON DELETE CASCADE,
      option_id uuid NOT NULL REFERENCES property_group_option(id) ON DELETE CASCADE,
      ${ts},
      PRIMARY KEY (product_id, option_id)
    );
    CREATE INDEX product_property_option_id_idx ON product_property(option_id);
    CREATE TABLE customer (
      id uuid PRIMARY KEY,
      customer_number varchar(255) NOT NULL UNIQUE,
      email varchar(254) NOT NULL UNIQUE,
      first_name varchar(255) NOT NULL,
      last_name varchar(255) NOT NULL,
      active boolean NOT NULL DEFAULT true,
      external_id varchar(255) UNIQUE,
      ${ts}
    );
    CREATE TABLE customer_address (
      id uuid PRIMARY KEY,
      customer_id uuid NOT NULL REFERENCES customer(id) ON DELETE CASCADE,
      country_id uuid NOT NULL REFERENCES country(id) ON DELETE RESTRICT,
      first_name varchar(255),
      last_name varchar(255),
      street varchar(255) NOT NULL,
      zipcode varchar(64),
      city varchar(255) NOT NULL,
      ${ts}
    );
    CREATE INDEX customer_address_customer_id_idx ON customer_address(customer_id);
    CREATE INDEX customer_address_country_id_idx ON customer_address(country_id);
  `);
};

exports.down = async function down(knex) {
  await knex.raw(`
    DROP TABLE IF EXISTS customer_address, customer, product_property, property_group_option, property_group,
      product_category, product, product_manufacturer, category, country, tax CASCADE;
  `);
};
