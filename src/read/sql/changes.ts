import { ident, type Sql } from '../../db/sql';
import { kindOf } from '../../definitions/kinds';
import type { EntityDef } from '../../definitions/types';
import type { FeedPosition } from '../changes-request';

/** One change log entry as stored: the key by column. */
export interface LogRow {
  xid: string;
  seq: number;
  entity: string;
  key: Record<string, unknown>;
  op: 'upsert' | 'delete';
  at: Date;
}

export interface FeedState {
  /** The oldest transaction still running (xid8 as decimal text). */
  horizon: string;
  pruned_xid: string | null;
  pruned_seq: number | null;
}

/**
 * The horizon is the oldest transaction still running that could write this database's change log: the
 * snapshot's running transactions, less those PostgreSQL names as another database's (a session or a prepared
 * transaction there cannot write here), or the snapshot's end when none is left. Only what is known to be
 * elsewhere is left out: a transaction that ends between the snapshot and the look at pg_stat_activity stays in, so
 * the horizon never passes a transaction of this database. Without this, a long transaction of any other
 * application on the same server would hold the feed back until it ended. The low 32 bits of a running xid8 name
 * it uniquely (running transactions are less than 2^31 apart), which is how pg_stat_activity's xid is compared.
 */
export async function selectFeedState(sql: Sql): Promise<FeedState> {
  const { rows } = await sql.query<FeedState>(
    `SELECT coalesce(
              (SELECT min(x) FROM pg_snapshot_xip(q.s) x
                WHERE (x::text::numeric % 4294967296) NOT IN (
                  SELECT a.backend_xid::text::numeric FROM pg_stat_activity a
                   WHERE a.backend_xid IS NOT NULL AND a.datname IS NOT NULL AND a.datname <> current_database()
                  UNION ALL
                  SELECT t.transaction::text::numeric FROM pg_prepared_xacts t WHERE t.database <> current_database())),
              pg_snapshot_xmax(q.s))::text AS horizon,
            p.xid::text AS pruned_xid, p.seq AS pruned_seq
       FROM (SELECT pg_current_snapshot() AS s) q LEFT JOIN change_log_pruned p ON true`,
  );
  return rows[0]!;
}

export interface EntriesQuery {
  since: FeedPosition;
  /** Entries at or past this position are not handed out yet. */
  end: FeedPosition;
  /** Empty: every entity. */
  entities: readonly string[];
  limit: number;
}

/** Entries after `since` and before the horizon, in (xid, seq) order. */
export async function selectEntries(sql: Sql, q: EntriesQuery): Promise<LogRow[]> {
  const params: unknown[] = [q.since.xid.toString(), q.since.seq.toString(), q.end.xid.toString()];
  let entityCond = '';
  if (q.entities.length) {
    params.push(q.entities);
    entityCond = ` AND c.entity = ANY($${params.length}::text[])`;
  }
  params.push(q.limit);
  const { rows } = await sql.query<LogRow>(
    // A record written several times by one transaction (the writer, then an indexer) is handed out once, at its
    // last change; deciding that in SQL keeps the answer the same whatever the page size.
    `SELECT c.xid::text AS xid, c.seq, c.entity, c.key, c.op, c.at FROM change_log c
      WHERE (c.xid, c.seq) > ($1::xid8, $2::bigint) AND c.xid < $3::xid8${entityCond}
        AND NOT EXISTS (SELECT 1 FROM change_log later
                        WHERE later.xid = c.xid AND later.entity = c.entity AND later.key = c.key AND later.seq > c.seq)
      ORDER BY c.xid, c.seq LIMIT $${params.length}`,
    params,
  );
  return rows;
}

export async function deleteOldEntries(sql: Sql, retentionDays: number): Promise<number> {
  const { rows } = await sql.query<{ removed: number }>('SELECT bulksync_prune_changes(make_interval(days => $1)) AS removed', [retentionDays]);
  return Number(rows[0]!.removed);
}

/** Which of `tables` carry the change triggers. */
export async function trackedTables(sql: Sql, tables: readonly string[]): Promise<string[]> {
  const { rows } = await sql.query<{ table: string }>(
    `SELECT c.relname AS table FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
      WHERE t.tgname = 'bulksync_changes_insert' AND c.relnamespace = current_schema()::regnamespace AND c.relname = ANY($1::text[])`,
    [tables],
  );
  return rows.map((r) => r.table);
}

/** A stored record's version columns, by its key as the change log spells it (column → text). */
export type StoredVersions = Map<string, { created_at: Date; updated_at: Date | null }>;

/** The log's key of a record as one string: its key columns' values in key order. */
export function logKey(entity: EntityDef, key: Record<string, unknown>): string {
  return JSON.stringify(entity.primaryKey.map((k) => String(key[entity.fields[k]!.column])));
}

/** The version columns of the records of `entity` the log names that are still stored: one statement per entity. */
export async function selectVersions(sql: Sql, entity: EntityDef, keys: readonly Record<string, unknown>[]): Promise<StoredVersions> {
  const out: StoredVersions = new Map();
  if (!keys.length) return out;
  const fields = entity.primaryKey.map((k) => entity.fields[k]!);
  const cols = fields.map((f) => ident(f.column));
  const arrays = fields.map((f, i) => `$${i + 1}::${kindOf(f).paramType}[]`);
  const { rows } = await sql.query<Record<string, unknown> & { created_at: Date; updated_at: Date | null }>(
    `SELECT ${cols.join(', ')}, created_at, updated_at FROM ${ident(entity.table)} WHERE (${cols.join(', ')}) IN (SELECT * FROM unnest(${arrays.join(', ')}))`,
    fields.map((f) => keys.map((k) => k[f.column])),
  );
  for (const r of rows) out.set(logKey(entity, r), { created_at: r.created_at, updated_at: r.updated_at });
  return out;
}
