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
  /** JSON list of the keys. */
  keys: string;
}

/** The event names active webhooks subscribe to (`product.written`, `*.deleted`, `*`): one cheap statement. */
export async function subscribedEventNames(sql: Sql): Promise<string[]> {
  const { rows } = await sql.query<{ event_name: string }>('SELECT DISTINCT event_name FROM webhook WHERE active');
  return rows.map((r) => r.event_name);
}

/**
 * Writes a delivery per active webhook and part that it subscribes to, and a job for each, in the caller's
 * transaction: one statement whatever the number of parts and webhooks. Returns how many deliveries were queued.
 */
export async function enqueueDeliveries(sql: Sql, parts: readonly EventPart[], requestId: string | undefined): Promise<number> {
  if (!parts.length) return 0;
  const { rows } = await sql.query<{ n: string }>(
    `WITH p AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[]) AS p(event_name, entity, part, keys)
     ), d AS (
       INSERT INTO webhook_delivery (id, webhook_id, event_name, entity, request_id, part, keys, occurred_at, status)
       SELECT gen_random_uuid(), w.id, p.event_name, p.entity, $5, p.part, p.keys::jsonb, now(), 'queued'
         FROM webhook w JOIN p ON w.event_name IN (p.event_name, '*', '*.' || split_part(p.event_name, '.', 2))
        WHERE w.active
        ORDER BY w.id, p.event_name, p.part
       RETURNING id
     )
     SELECT count(graphile_worker.add_job($6, json_build_object('deliveryId', d.id), max_attempts => $7))::text AS n FROM d`,
    [parts.map((p) => p.event), parts.map((p) => p.entity), parts.map((p) => p.part), parts.map((p) => p.keys), requestId ?? null, WEBHOOK_TASK, WEBHOOK_JOB_MAX_ATTEMPTS],
  );
  return Number(rows[0]?.n ?? 0);
}
