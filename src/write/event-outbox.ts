import type { Sql } from '../db/sql';

/** graphile-worker task that POSTs one webhook delivery. */
export const WEBHOOK_TASK = 'bulksync_webhook';

/** Attempts of the delivery job itself: only a crash or a database fault fails it; HTTP failures are rescheduled. */
export const WEBHOOK_JOB_MAX_ATTEMPTS = 10;

/** One part of an event: at most a thousand keys of one entity. */
export interface EventPart {
  event: string;
  entity: string;
  part: number;
  /** Ids, or key objects of mapping entities. */
  keys: readonly unknown[];
}

/** The event names active webhooks subscribe to (`product.written`, `*.deleted`, `*`): one cheap statement. */
export async function subscribedEventNames(sql: Sql): Promise<string[]> {
  const { rows } = await sql.query<{ event_name: string }>('SELECT DISTINCT event_name FROM webhook WHERE active');
  return rows.map((r) => r.event_name);
}

/**
 * Writes a delivery per active webhook and part that it subscribes to, and a job for each, in the caller's
 * transaction: one statement whatever the number of parts and webhooks (the jobs go in with one batch add_jobs).
 * Returns how many deliveries were queued.
 */
export async function enqueueDeliveries(sql: Sql, parts: readonly EventPart[], requestId: string | undefined): Promise<number> {
  if (!parts.length) return 0;
  // The keys travel as one json value (a text[] of large JSON strings costs PostgreSQL more to parse, for its
  // escaping) and are only split, never looked into: json operators re-parse a json value at every use. The column is
  // json, stored as sent, without a conversion to jsonb in the sync's transaction.
  const { rows } = await sql.query<{ n: string }>(
    `WITH p AS (
       SELECT m.event_name, m.entity, m.part, k.keys
         FROM unnest($1::text[], $2::text[], $3::int[]) WITH ORDINALITY AS m(event_name, entity, part, i)
         JOIN json_array_elements($4::json) WITH ORDINALITY AS k(keys, i) USING (i)
     ), d AS (
       INSERT INTO webhook_delivery (id, webhook_id, event_name, entity, request_id, part, keys, occurred_at, status)
       SELECT gen_random_uuid(), w.id, p.event_name, p.entity, $5, p.part, p.keys, now(), 'queued'
         FROM webhook w JOIN p ON w.event_name IN (p.event_name, '*', '*.' || split_part(p.event_name, '.', 2))
        WHERE w.active
        ORDER BY w.id, p.event_name, p.part
       RETURNING id
     )
     SELECT count(*)::text AS n FROM graphile_worker.add_jobs(ARRAY(
       SELECT ROW($6::text, json_build_object('deliveryId', d.id), NULL::text, NULL::timestamptz, $7::int, NULL::text, NULL::int, NULL::text[])::graphile_worker.job_spec
         FROM d))`,
    [
      parts.map((p) => p.event),
      parts.map((p) => p.entity),
      parts.map((p) => p.part),
      JSON.stringify(parts.map((p) => p.keys)),
      requestId ?? null,
      WEBHOOK_TASK,
      WEBHOOK_JOB_MAX_ATTEMPTS,
    ],
  );
  return Number(rows[0]?.n ?? 0);
}
