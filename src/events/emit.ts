import type { Sql } from '../db/sql';
import { enqueueDeliveries, subscribedEventNames, type EventPart } from '../write/event-outbox';

/** A key as the API answers it: an id, or the fields of a composite key. */
export type ApiKey = string | Record<string, string>;

/**
 * What a chunk wrote and deleted, per entity (the sync's result has this shape); declared here so that events know
 * nothing of the sync that feeds them.
 */
export interface WrittenKeys {
  readonly data: ReadonlyMap<string, readonly ApiKey[]>;
  readonly deleted: ReadonlyMap<string, readonly ApiKey[]>;
  /** Keys listed under data that were stored already as sent (not written: no event). */
  readonly unchanged: ReadonlyMap<string, readonly ApiKey[]>;
}

/** Keys per delivery: a bigger event is split into parts. */
export const KEYS_PER_PART = 1000;

/** Does a webhook's eventName (`product.written`, `*.written`, `*`) cover this event? */
export function subscribes(pattern: string, event: string): boolean {
  return pattern === '*' || pattern === event || pattern === `*.${event.slice(event.lastIndexOf('.') + 1)}`;
}

/**
 * The events of a sync, stored in its transaction (an outbox): `<entity>.written` for the keys it wrote and
 * `<entity>.deleted` for those it deleted, a delivery per subscribed webhook and part of at most KEYS_PER_PART keys.
 * Fed chunk by chunk: a part is stored as soon as it is full, the rest at the end, so that a streamed request
 * never holds more than a part's keys per event. Without an active webhook this costs one cheap statement per
 * request. A key written by two chunks of one request may appear in two parts.
 */
export class RequestEvents {
  private readonly open = new Map<string, { entity: string; keys: ApiKey[]; seen: Set<string>; part: number }>();
  private patterns: readonly string[] | undefined;

  constructor(
    private readonly requestId: string | undefined,
    /** sw-skip-trigger-flow */
    private readonly skip: boolean,
    /** The event names active webhooks subscribe to, when known already (else read at the first write). */
    patterns?: readonly string[],
  ) {
    this.patterns = patterns;
  }

  /** What a chunk wrote and deleted; parts that are full are stored. Returns the number of deliveries queued. */
  async add(sql: Sql, result: WrittenKeys): Promise<number> {
    if (this.skip || (!result.data.size && !result.deleted.size)) return 0;
    this.patterns ??= await subscribedEventNames(sql);
    if (!this.patterns.length) return 0;
    const full: EventPart[] = [];
    const idOf = (k: ApiKey) => (typeof k === 'string' ? k : JSON.stringify(k));
    const collect = (kind: 'written' | 'deleted', map: ReadonlyMap<string, readonly ApiKey[]>) => {
      for (const [entity, keys] of map) {
        const event = `${entity}.${kind}`;
        if (!keys.length || !this.patterns!.some((p) => subscribes(p, event))) continue;
        let open = this.open.get(event);
        if (!open) this.open.set(event, (open = { entity, keys: [], seen: new Set(), part: 0 }));
        // Records stored already as sent were not written: no event for them.
        const unchanged = kind === 'written' ? result.unchanged.get(entity) : undefined;
        const skip = unchanged?.length ? new Set(unchanged.map(idOf)) : undefined;
        for (const k of keys) {
          const id = idOf(k);
          if (open.seen.has(id) || skip?.has(id)) continue;
          open.seen.add(id);
          open.keys.push(k);
          if (open.keys.length === KEYS_PER_PART) full.push(this.take(event));
        }
      }
    };
    collect('written', result.data);
    collect('deleted', result.deleted);
    return full.length ? enqueueDeliveries(sql, full, this.requestId) : 0;
  }

  /** The parts not full yet, at the end of the request. */
  async flush(sql: Sql): Promise<number> {
    const rest = [...this.open.keys()].filter((e) => this.open.get(e)!.keys.length).map((e) => this.take(e));
    return rest.length ? enqueueDeliveries(sql, rest, this.requestId) : 0;
  }

  private take(event: string): EventPart {
    const open = this.open.get(event)!;
    const part: EventPart = { event, entity: open.entity, part: ++open.part, keys: open.keys };
    open.keys = [];
    open.seen = new Set();
    return part;
  }
}
