import type { Sql } from '../db/sql';
import type { ApiKey, SyncResult } from '../sync/result';
import { enqueueDeliveries, subscribedEventNames, type EventPart } from '../write/event-outbox';

/** Keys per delivery: a bigger event is split into parts. */
export const KEYS_PER_PART = 1000;

export interface EmitContext {
  sql: Sql;
  result: SyncResult;
  requestId?: string;
  /** sw-skip-trigger-flow */
  skip: boolean;
}

/** Does a webhook's eventName (`product.written`, `*.written`, `*`) cover this event? */
export function subscribes(pattern: string, event: string): boolean {
  return pattern === '*' || pattern === event || pattern === `*.${event.slice(event.lastIndexOf('.') + 1)}`;
}

/**
 * The events of a sync, stored in its transaction (an outbox): `<entity>.written` for the keys it wrote and
 * `<entity>.deleted` for those it deleted, a delivery per subscribed webhook and part of at most KEYS_PER_PART keys.
 * Without an active webhook this costs one cheap statement; with them, one more whatever the number of keys.
 * Returns the number of deliveries queued.
 */
export async function emitEvents(ctx: EmitContext): Promise<number> {
  if (ctx.skip) return 0;
  const events: { event: string; entity: string; keys: readonly ApiKey[] }[] = [];
  for (const [entity, keys] of ctx.result.data) events.push({ event: `${entity}.written`, entity, keys });
  for (const [entity, keys] of ctx.result.deleted) events.push({ event: `${entity}.deleted`, entity, keys });
  if (!events.some((e) => e.keys.length)) return 0;
  const patterns = await subscribedEventNames(ctx.sql);
  const wanted = events.filter((e) => e.keys.length && patterns.some((p) => subscribes(p, e.event)));
  if (!wanted.length) return 0;
  const parts: EventPart[] = [];
  for (const e of wanted) {
    const keys = distinct(e.keys);
    for (let i = 0; i * KEYS_PER_PART < keys.length; i++) {
      parts.push({ event: e.event, entity: e.entity, part: i + 1, keys: keys.slice(i * KEYS_PER_PART, (i + 1) * KEYS_PER_PART) });
    }
  }
  return enqueueDeliveries(ctx.sql, parts, ctx.requestId);
}

/** A key written by two operations of one request is sent once. */
function distinct(keys: readonly ApiKey[]): ApiKey[] {
  const seen = new Set<string>();
  const out: ApiKey[] = [];
  for (const k of keys) {
    const id = typeof k === 'string' ? k : JSON.stringify(k);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(k);
  }
  return out;
}
