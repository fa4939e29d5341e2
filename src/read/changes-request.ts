import type { Registry } from '../definitions/registry';
import { showValue, type Problem } from '../errors';
import { decodeCursor, encodeCursor } from './cursor';

export const DEFAULT_CHANGES_LIMIT = 1000;
export const MAX_CHANGES_LIMIT = 10_000;

/** A position in the change log: after the entry (xid, seq). xid is an xid8 kept as decimal text (64 bits). */
export interface FeedPosition {
  xid: bigint;
  seq: bigint;
}

export const FEED_START: FeedPosition = { xid: 0n, seq: 0n };

export interface ChangesRequest {
  /** Entities to answer; empty = all. */
  entities: string[];
  /** Answer entries after this position; `now` = the current end of the feed (nothing before it). */
  since: FeedPosition | 'now';
  /** False when the client gave no cursor: then it starts at the oldest retained entry. */
  resumed: boolean;
  limit: number;
}

export type ChangesRequestResult = { ok: true; request: ChangesRequest } | { ok: false; problems: Problem[] };

export function comparePositions(a: FeedPosition, b: FeedPosition): number {
  if (a.xid !== b.xid) return a.xid < b.xid ? -1 : 1;
  return a.seq === b.seq ? 0 : a.seq < b.seq ? -1 : 1;
}

export function encodeFeedCursor(p: FeedPosition): string {
  return encodeCursor({ x: p.xid.toString(), s: p.seq.toString() });
}

export function decodeFeedCursor(cursor: string): FeedPosition | undefined {
  const d = decodeCursor(cursor);
  if (typeof d !== 'object' || d === null || Array.isArray(d)) return undefined;
  const { x, s } = d as Record<string, unknown>;
  if (typeof x !== 'string' || typeof s !== 'string' || !/^\d{1,20}$/.test(x) || !/^\d{1,19}$/.test(s)) return undefined;
  return { xid: BigInt(x), seq: BigInt(s) };
}

const problem = (parameter: string, detail: string): Problem => ({ code: 'VALUE_INVALID', detail, meta: { parameter } });

/** Query parameters of GET /api/_action/changes: entity (comma-separated), since (a cursor or "now"), limit. */
export function parseChangesRequest(registry: Registry, query: Record<string, unknown>): ChangesRequestResult {
  const problems: Problem[] = [];
  for (const key of Object.keys(query)) {
    if (!['entity', 'since', 'limit'].includes(key)) problems.push(problem(key, `unknown query parameter "${key}" (entity, since, limit)`));
  }
  const entities: string[] = [];
  if (query.entity !== undefined) {
    if (typeof query.entity !== 'string') problems.push(problem('entity', 'give entity once, as a comma-separated list'));
    else {
      for (const name of query.entity.split(',').map((s) => s.trim()).filter(Boolean)) {
        if (registry.has(name)) entities.push(name);
        else problems.push({ code: 'ENTITY_UNKNOWN', detail: `no entity "${name}"`, meta: { parameter: 'entity' } });
      }
    }
  }
  let since: FeedPosition | 'now' = FEED_START;
  if (query.since !== undefined) {
    if (query.since === 'now') since = 'now';
    else {
      const p = typeof query.since === 'string' ? decodeFeedCursor(query.since) : undefined;
      if (p) since = p;
      else problems.push(problem('since', `expected a cursor ("next" of a previous answer) or "now", got ${showValue(query.since)}`));
    }
  }
  let limit = DEFAULT_CHANGES_LIMIT;
  if (query.limit !== undefined) {
    const n = typeof query.limit === 'string' && /^\d{1,6}$/.test(query.limit) ? Number(query.limit) : NaN;
    if (!(n >= 1 && n <= MAX_CHANGES_LIMIT)) problems.push(problem('limit', `expected an integer between 1 and ${MAX_CHANGES_LIMIT}, got ${showValue(query.limit)}`));
    else limit = n;
  }
  if (problems.length) return { ok: false, problems };
  return { ok: true, request: { entities, since, resumed: query.since !== undefined, limit } };
}
