/**
 * Idempotency keys and async sync jobs (docs/sync-jobs.md).
 *
 * bulksync_idempotency_key: the stored answer of the first request with a key, per integration. A row exists only
 * once that request finished: it is written in the transaction of the request's writes, so a crash leaves no row
 * and no key "in flight" (a request running is told apart by a transaction-scoped advisory lock, which dies with
 * its connection). Expired rows are pruned by the queue's cron task.
 *
 * bulksync_sync_job + bulksync_sync_job_chunk: a job and its body, stored in chunks of about 1 MB before the 202,
 * so that neither the API nor the worker ever holds the body whole in one value. The job's final status is
 * written in the transaction of its writes (succeeded) or after its rollback (failed, cancelled).
 */
exports.up = async function up(knex) {
  await knex.raw(`
    CREATE TABLE bulksync_idempotency_key (
      integration_id uuid NOT NULL REFERENCES bulksync_integration (id) ON DELETE CASCADE,
      key text NOT NULL,
      fingerprint text NOT NULL,
      status integer NOT NULL,
      headers jsonb NOT NULL,
      body bytea NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      PRIMARY KEY (integration_id, key)
    );
    CREATE INDEX bulksync_idempotency_key_expires ON bulksync_idempotency_key (expires_at);

    CREATE TABLE bulksync_sync_job (
      id uuid PRIMARY KEY,
      integration_id uuid NOT NULL REFERENCES bulksync_integration (id) ON DELETE CASCADE,
      request_id text,
      status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
      headers jsonb NOT NULL,
      content_type text NOT NULL,
      body_bytes bigint NOT NULL DEFAULT 0,
      records integer NOT NULL DEFAULT 0,
      done integer NOT NULL DEFAULT 0,
      result jsonb,
      errors jsonb,
      attempts integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(),
      started_at timestamptz,
      finished_at timestamptz,
      expires_at timestamptz NOT NULL
    );
    CREATE INDEX bulksync_sync_job_list ON bulksync_sync_job (integration_id, created_at DESC, id DESC);
    CREATE INDEX bulksync_sync_job_expires ON bulksync_sync_job (expires_at);

    CREATE TABLE bulksync_sync_job_chunk (
      job_id uuid NOT NULL REFERENCES bulksync_sync_job (id) ON DELETE CASCADE,
      seq integer NOT NULL,
      data bytea NOT NULL,
      PRIMARY KEY (job_id, seq)
    );
  `);
};

exports.down = async function down(knex) {
  await knex.raw(`DROP TABLE IF EXISTS bulksync_sync_job_chunk, bulksync_sync_job, bulksync_idempotency_key`);
};
