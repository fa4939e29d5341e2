/**
 * Webhooks (docs/webhooks.md): subscribers of the events a committed sync emits, and the delivery log. A sync that
 * emits events writes its deliveries here in its own transaction (with one graphile-worker job each), so a committed
 * write never loses its delivery and a rolled-back one never has one.
 */
exports.up = async function up(knex) {
  await knex.raw(`
    CREATE TABLE webhook (
      id uuid PRIMARY KEY,
      name text NOT NULL,
      event_name text NOT NULL,
      url text NOT NULL,
      -- AES-256-GCM ciphertext (see src/definitions/field-cipher.ts), never the secret itself.
      secret text NOT NULL,
      active boolean NOT NULL DEFAULT true,
      -- Given-up deliveries in a row; a delivered one resets it.
      error_count integer NOT NULL DEFAULT 0,
      last_error text,
      last_delivered_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz
    );
    CREATE INDEX webhook_active_idx ON webhook (event_name) WHERE active;

    CREATE TABLE webhook_delivery (
      id uuid PRIMARY KEY,
      webhook_id uuid NOT NULL REFERENCES webhook (id) ON DELETE CASCADE,
      event_name text NOT NULL,
      entity text NOT NULL,
      request_id text,
      part integer NOT NULL,
      -- json, not jsonb: stored as the sync sends it, without a conversion in the sync's transaction.
      keys json NOT NULL,
      occurred_at timestamptz NOT NULL,
      status text NOT NULL CHECK (status IN ('queued', 'retrying', 'delivered', 'failed')),
      attempts integer NOT NULL DEFAULT 0,
      response_status integer,
      last_error text,
      delivered_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz
    );
    CREATE INDEX webhook_delivery_webhook_idx ON webhook_delivery (webhook_id, created_at);
    CREATE INDEX webhook_delivery_status_idx ON webhook_delivery (status, occurred_at);
    -- Keys of random ids hardly compress; compressing them cost the sync more than writing them (100,000 keys:
    -- ~0.4 s more, measured).
    ALTER TABLE webhook_delivery ALTER COLUMN keys SET STORAGE EXTERNAL;
  `);
  // In the change feed like every entity (a delivery's status changes are entries too).
  for (const table of ['webhook', 'webhook_delivery']) await knex.raw('SELECT bulksync_track_changes(?, ?, ?::text[])', [table, table, ['id']]);
};

exports.down = async function down(knex) {
  await knex.raw('DROP TABLE IF EXISTS webhook_delivery; DROP TABLE IF EXISTS webhook;');
};
