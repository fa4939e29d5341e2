import type { Knex } from 'knex';
import { isId, toApiId } from '../definitions/ids';
import type { Registry } from '../definitions/registry';
import { withConnection, type Sql } from '../db/sql';
import { comparePositions, encodeFeedCursor, type ChangesRequest, type FeedPosition } from './changes-request';
import { withReadSession } from './session';
import { deleteOldEntries, logKey, selectEntries, selectFeedState, selectVersions, trackedTables, type LogRow, type StoredVersions } from './sql/changes';
import { versionOf } from '../definitions/record-version';
import { refuse, type ReadResult } from './types';

export interface ChangeEntry {
  entity: string;
  /** 32 hex, or the key object of a mapping entity ({ productId, categoryId }). */
  id: string | Record<string, string>;
  op: 'upsert' | 'delete';
  at: string;
  /** An upsert's record as stored now: its version (null when it was deleted since). */
  _version?: string | null;
}

export interface ChangesResult {
  data: ChangeEntry[];
  /** Always present: where the next read continues (unchanged data is never handed out twice). */
  next: string;
}

/**
 * Reads the change log in (transaction id, sequence) order, handing out only entries of transactions older than
 * the oldest one still running. Those transactions have ended, so no entry can appear later at a position a
 * reader has passed: a transaction that began earlier but commits later holds the horizon back until it ends,
 * and its entries are then handed out after the ones already read (see the migration 20261123010000_change_feed).
 */
export async function readChanges(knex: Knex, registry: Registry, req: ChangesRequest): Promise<ReadResult<ChangesResult>> {
  return withReadSession(knex, false, async (sql): Promise<ReadResult<ChangesResult>> => {
    const state = await selectFeedState(sql);
    // Every transaction below the horizon has ended: (horizon, 0) comes after all of their entries.
    const end: FeedPosition = { xid: BigInt(state.horizon), seq: 0n };
    if (req.since === 'now') return { ok: true, value: { data: [], next: encodeFeedCursor(end) } };
    const since = req.since;
    const pruned = state.pruned_xid === null ? undefined : { xid: BigInt(state.pruned_xid), seq: BigInt(state.pruned_seq!) };
    if (req.resumed && pruned && comparePositions(since, pruned) < 0) {
      return refuse({
        code: 'VALUE_INVALID',
        detail:
          'the cursor is older than the change log keeps entries (CHANGES_RETENTION_DAYS): changes after it were pruned. ' +
          'Read the current state again with search, then follow the feed from since=now taken before that read.',
        meta: { parameter: 'since', reason: 'expired' },
      });
    }
    const rows = await selectEntries(sql, { since, end, entities: req.entities, limit: req.limit });
    const last = rows[rows.length - 1];
    // A short page means nothing below the horizon is left: continue from the horizon (this also skips pruned
    // ranges). A full page continues right after its last entry.
    let next: FeedPosition = last && rows.length >= req.limit ? { xid: BigInt(last.xid), seq: BigInt(last.seq) } : end;
    if (comparePositions(next, since) < 0) next = since;
    const entries = collapse(rows);
    const versions = await currentVersions(sql, registry, entries);
    return { ok: true, value: { data: entries.map((r) => toEntry(registry, r, versions)), next: encodeFeedCursor(next) } };
  });
}

/**
 * A record written several times by one transaction (the writer, then an indexer, say) is listed once, at its
 * last change, with the last op: the transaction's changes become visible together, so only its outcome per
 * record matters. Only entries within one answer are merged; a transaction split across answers may repeat a
 * record, which at-least-once delivery allows.
 */
export function collapse<R extends { xid: string; entity: string; key: Record<string, unknown> }>(rows: readonly R[]): R[] {
  // jsonb answers keys in a canonical order, so equal keys stringify alike.
  const identity = (r: R) => `${r.xid}\u0000${r.entity}\u0000${JSON.stringify(r.key)}`;
  const last = new Map<string, number>();
  rows.forEach((r, i) => last.set(identity(r), i));
  return rows.filter((r, i) => last.get(identity(r)) === i);
}

/** The versions of the records a page's upserts name, read in the page's snapshot: one statement per entity. */
async function currentVersions(sql: Sql, registry: Registry, rows: readonly LogRow[]): Promise<Map<string, StoredVersions>> {
  const byEntity = new Map<string, Record<string, unknown>[]>();
  for (const r of rows) if (r.op === 'upsert' && registry.find(r.entity)) byEntity.set(r.entity, [...(byEntity.get(r.entity) ?? []), r.key]);
  const out = new Map<string, StoredVersions>();
  for (const [name, keys] of byEntity) out.set(name, await selectVersions(sql, registry.get(name), keys));
  return out;
}

/** Stored keys are by column; the API names them by field and spells uuids as 32 hex. */
function toEntry(registry: Registry, row: LogRow, versions: Map<string, StoredVersions>): ChangeEntry {
  const entity = registry.find(row.entity);
  const spell = (v: unknown) => (isId(v) ? toApiId(v) : String(v));
  let id: ChangeEntry['id'];
  if (entity && entity.primaryKey.length === 1) {
    id = spell(row.key[entity.fields[entity.primaryKey[0]!]!.column]);
  } else {
    const byColumn = new Map(entity ? entity.primaryKey.map((k) => [entity.fields[k]!.column, k] as const) : []);
    id = Object.fromEntries(Object.entries(row.key).map(([col, v]) => [byColumn.get(col) ?? col, spell(v)]));
  }
  const entry: ChangeEntry = { entity: row.entity, id, op: row.op, at: row.at.toISOString() };
  if (row.op === 'upsert' && entity) {
    const stored = versions.get(row.entity)?.get(logKey(entity, row.key));
    entry._version = stored ? versionOf(stored.created_at, stored.updated_at) : null;
  }
  return entry;
}

/** Removes entries older than the retention; returns how many went. Safe to run from several processes. */
export async function pruneChanges(knex: Knex, retentionDays: number): Promise<number> {
  return withConnection(knex, (sql) => deleteOldEntries(sql, retentionDays));
}

/**
 * Registered entities whose table lacks the change triggers (a user's migration that did not call
 * bulksync_track_changes): their changes never reach the feed.
 */
export async function untrackedEntities(knex: Knex, registry: Registry): Promise<string[]> {
  const tracked = new Set(await withConnection(knex, (sql) => trackedTables(sql, registry.all().map((e) => e.table))));
  return registry.all().filter((e) => !tracked.has(e.table)).map((e) => e.name);
}
