import type { Sql } from '../db/sql';
import { WEBHOOK_JOB_MAX_ATTEMPTS, WEBHOOK_TASK } from './event-outbox';

/** A delivery with what sending it needs from its webhook. */
export interface DeliveryRow {
  id: string;
  webhookId: string;
  event: string;
  entity: string;
  requestId: string | null;
  keys: unknown[];
  occurredAt: Date;
  status: 'queued' | 'retrying' | 'delivered' | 'failed';
  attempts: number;
  url: string;
  /** Still encrypted. */
  secret: string;
  active: boolean;
}

export async function loadDelivery(sql: Sql, id: string): Promise<DeliveryRow | undefined> {
  const { rows } = await sql.query<DeliveryRow>(
    `SELECT d.id::text AS id, d.webhook_id::text AS "webhookId", d.event_name AS event, d.entity, d.request_id AS "requestId",
            d.keys, d.occurred_at AS "occurredAt", d.status, d.attempts, w.url, w.secret, w.active
       FROM webhook_delivery d JOIN webhook w ON w.id = d.webhook_id WHERE d.id = $1::uuid`,
    [id],
  );
  return rows[0];
}

export interface AttemptOutcome {
  id: string;
  webhookId: string;
  responseStatus: number | null;
  error: string | null;
}

/** Delivered: the delivery is done, and the webhook's count of given-up deliveries in a row starts again. */
export async function recordDelivered(sql: Sql, o: AttemptOutcome): Promise<void> {
  await sql.query(
    `UPDATE webhook_delivery SET status = 'delivered', attempts = attempts + 1, response_status = $2, last_error = NULL,
            delivered_at = now(), updated_at = now() WHERE id = $1::uuid`,
    [o.id, o.responseStatus],
  );
  await sql.query(`UPDATE webhook SET error_count = 0, last_delivered_at = now(), updated_at = now() WHERE id = $1::uuid`, [o.webhookId]);
}

/** Failed this time: the delivery waits for its next job, queued to run after `delaySeconds`. */
export async function recordRetry(sql: Sql, o: AttemptOutcome, delaySeconds: number): Promise<void> {
  await sql.query(
    `UPDATE webhook_delivery SET status = 'retrying', attempts = attempts + 1, response_status = $2, last_error = $3, updated_at = now()
      WHERE id = $1::uuid`,
    [o.id, o.responseStatus, o.error],
  );
  await sql.query(
    `SELECT graphile_worker.add_job($1, json_build_object('deliveryId', $2::text), run_at => now() + make_interval(secs => $3),
                                    max_attempts => $4)`,
    [WEBHOOK_TASK, o.id, delaySeconds, WEBHOOK_JOB_MAX_ATTEMPTS],
  );
}

/**
 * Given up: the delivery failed for good, the webhook counts one more given-up delivery in a row and keeps the
 * error, and is set inactive at `maxFailures`. Returns the webhook's count and whether it is still active.
 */
export async function recordGivenUp(sql: Sql, o: AttemptOutcome, maxFailures: number): Promise<{ errorCount: number; active: boolean }> {
  await sql.query(
    `UPDATE webhook_delivery SET status = 'failed', attempts = attempts + 1, response_status = $2, last_error = $3, updated_at = now()
      WHERE id = $1::uuid`,
    [o.id, o.responseStatus, o.error],
  );
  const { rows } = await sql.query<{ errorCount: number; active: boolean }>(
    `UPDATE webhook SET error_count = error_count + 1, last_error = $2, active = active AND error_count + 1 < $3, updated_at = now()
      WHERE id = $1::uuid RETURNING error_count AS "errorCount", active`,
    [o.webhookId, o.error, maxFailures],
  );
  return rows[0] ?? { errorCount: 0, active: false };
}

/** A delivery of a webhook that is inactive by now: failed without an attempt, and without counting against it. */
export async function recordSkipped(sql: Sql, id: string, reason: string): Promise<void> {
  await sql.query(`UPDATE webhook_delivery SET status = 'failed', last_error = $2, updated_at = now() WHERE id = $1::uuid`, [id, reason]);
}

export interface DeliveryStats {
  /** Deliveries in the log by status. */
  byStatus: Record<string, number>;
  /** Age of the oldest event not delivered yet (queued or retrying), 0 when none waits. */
  lagSeconds: number;
  /** From event to delivery, over the deliveries of the last five minutes: mean and maximum. */
  latencyMeanSeconds: number;
  latencyMaxSeconds: number;
}

export async function deliveryStats(sql: Sql): Promise<DeliveryStats> {
  const { rows } = await sql.query<{ by_status: Record<string, number> | null; lag: number; mean: number; max: number }>(
    `SELECT (SELECT json_object_agg(status, n) FROM (SELECT status, count(*)::int AS n FROM webhook_delivery GROUP BY status) s) AS by_status,
            (SELECT coalesce(extract(epoch FROM now() - min(occurred_at)), 0)::float8 FROM webhook_delivery
              WHERE status IN ('queued', 'retrying')) AS lag,
            coalesce(extract(epoch FROM avg(delivered_at - occurred_at)), 0)::float8 AS mean,
            coalesce(extract(epoch FROM max(delivered_at - occurred_at)), 0)::float8 AS max
       FROM webhook_delivery WHERE status = 'delivered' AND delivered_at > now() - interval '5 minutes'`,
  );
  const r = rows[0]!;
  return { byStatus: r.by_status ?? {}, lagSeconds: r.lag, latencyMeanSeconds: r.mean, latencyMaxSeconds: r.max };
}
