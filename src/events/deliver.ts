import { createHmac } from 'node:crypto';
import type { Knex } from 'knex';
import { withConnection, withTransaction } from '../db/sql';
import type { FieldCipher } from '../definitions/field-cipher';
import { toApiId } from '../definitions/ids';
import type { OutboundUrlPolicy } from '../definitions/public-url';
import type { Logger } from '../observability/logger';
import { loadDelivery, recordDelivered, recordGivenUp, recordRetry, recordSkipped, type AttemptOutcome, type DeliveryRow } from '../write/webhook-deliveries';
import { deliveryAddressProblem } from './address-check';

export interface DeliveryConfig {
  policy: OutboundUrlPolicy;
  timeoutSeconds: number;
  retryBaseSeconds: number;
  retryHours: number;
  maxConsecutiveFailures: number;
}

export interface DeliveryContext {
  knex: Knex;
  cipher: FieldCipher;
  config: DeliveryConfig;
  logger: Logger;
}

export interface DeliveryPayload {
  deliveryId: string;
}

/** The signature header's value: HMAC-SHA256 of the raw body with the webhook's secret. */
export function signature(secret: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * Waits before attempt n+1 (n attempts failed so far): base · 2^(n-1), times a jitter of ±25 % so that the
 * deliveries of one failing receiver do not come back all at once.
 */
export function retryDelaySeconds(failedAttempts: number, baseSeconds: number, random = Math.random()): number {
  return baseSeconds * 2 ** Math.min(failedAttempts - 1, 30) * (0.75 + random * 0.5);
}

function body(d: DeliveryRow): string {
  return JSON.stringify({
    event: d.event,
    deliveryId: toApiId(d.id),
    occurredAt: d.occurredAt.toISOString(),
    requestId: d.requestId,
    entity: d.entity,
    keys: d.keys,
  });
}

/** One POST; never throws: a failure is an outcome with its error. */
async function post(ctx: DeliveryContext, d: DeliveryRow): Promise<{ ok: boolean; status: number | null; error: string | null }> {
  const refused = await deliveryAddressProblem(d.url, ctx.config.policy);
  if (refused) return { ok: false, status: null, error: `address refused: ${refused}` };
  const raw = body(d);
  try {
    const res = await fetch(d.url, {
      method: 'POST',
      body: raw,
      // A redirect could lead to an address the check above never saw: it counts as a failure.
      redirect: 'manual',
      signal: AbortSignal.timeout(ctx.config.timeoutSeconds * 1000),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'bulksync-webhooks',
        'x-bulksync-event': d.event,
        'x-bulksync-delivery': toApiId(d.id),
        'x-bulksync-signature': signature(ctx.cipher.open(d.secret), raw),
      },
    });
    await res.body?.cancel().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, error: null };
    return { ok: false, status: res.status, error: `the receiver answered HTTP ${res.status}` };
  } catch (e) {
    const err = e as Error;
    const why = err.name === 'TimeoutError' ? `no answer within ${ctx.config.timeoutSeconds} s` : `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}`;
    return { ok: false, status: null, error: why.slice(0, 2000) };
  }
}

/**
 * The graphile-worker task of one delivery: POST it once; on failure the next attempt is a new job with a later
 * run_at (the queue is the scheduler), until WEBHOOK_RETRY_HOURS after the event, when it is given up.
 */
export async function deliver(ctx: DeliveryContext, payload: DeliveryPayload): Promise<void> {
  const d = await withConnection(ctx.knex, (sql) => loadDelivery(sql, payload.deliveryId));
  // Gone with its webhook, or already settled (a job run twice after a crash): nothing to do.
  if (!d || d.status === 'delivered' || d.status === 'failed') return;
  const tx = { retries: 3 };
  if (!d.active) {
    await withTransaction(ctx.knex, (sql) => recordSkipped(sql, d.id, 'the webhook is inactive'), tx);
    return;
  }
  const sent = await post(ctx, d);
  const outcome: AttemptOutcome = { id: d.id, webhookId: d.webhookId, responseStatus: sent.status, error: sent.error };
  if (sent.ok) {
    await withTransaction(ctx.knex, (sql) => recordDelivered(sql, outcome), tx);
    return;
  }
  const deadline = d.occurredAt.getTime() + ctx.config.retryHours * 3600_000;
  const remaining = (deadline - Date.now()) / 1000;
  if (remaining > 0) {
    // The last attempt is made at the deadline itself rather than skipped.
    const delay = Math.min(retryDelaySeconds(d.attempts + 1, ctx.config.retryBaseSeconds), remaining);
    await withTransaction(ctx.knex, (sql) => recordRetry(sql, outcome, delay), tx);
    return;
  }
  const webhook = await withTransaction(ctx.knex, (sql) => recordGivenUp(sql, outcome, ctx.config.maxConsecutiveFailures), tx);
  ctx.logger.warn('webhook delivery given up', {
    webhookId: toApiId(d.webhookId),
    deliveryId: toApiId(d.id),
    event: d.event,
    attempts: d.attempts + 1,
    error: sent.error,
    errorCount: webhook.errorCount,
    deactivated: !webhook.active,
  });
}
