import type { Sql } from '../../db/sql';
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

export async function selectFeedState(sql: Sql): Promise<FeedState> {
  const { rows } = await sql.query<FeedState>(
    `SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon, p.xid::text AS pruned_xid, p.seq AS pruned_seq
       FROM (SELECT 1) one LEFT JOIN change_log_pruned p ON true`,
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
