import { ident, type Sql } from '../db/sql';
import { kindOf } from '../definitions/kinds';
import type { EntityDef, FieldDef } from '../definitions/types';
import { keyColumns } from './keys';
import { nextUpdatedAt } from './record-version';
import { encodeRows, sendRows, type RowColumn } from './row-source';
import type { WriteRow } from './upsert';

/** Rows of one entity to insert or update in one statement; one row per key (same-key rows merged before). */
export interface SetUpsert {
  entity: EntityDef;
  rows: readonly WriteRow[];
  /** customFields merged key by key into the stored object (merge mode); replace mode writes them whole. */
  mergeKeys: boolean;
  /** The entity a foreign key field points at (its referenced rows are share-locked first, in key order). */
  target?: (field: FieldDef) => EntityDef | undefined;
  /**
   * Take the stored rows' locks NOWAIT (a held row fails the statement with 55P03, see isLockBusy): for rows locked
   * after others of the chunk, out of key order, where waiting could deadlock.
   */
  nowait?: boolean;
  /** The entity's stage was made ready for these rows (row-source.ts, stagePreparation). */
  prepared?: boolean;
}

/** What the statement did, by position in `rows`. A row in none of the lists was stored as it would become. */
export interface SetUpsertOutcome {
  inserted: number[];
  updated: number[];
  /**
   * Rows neither found nor inserted: another transaction inserted the key meanwhile (the insert waited for it to
   * commit, so the row is stored now), or the row holds a unique value taken by another record. The caller writes
   * them once more, runs the chunk again, or takes the diagnosing path.
   */
  missed: number[];
}

type Given = 'all' | 'some' | 'none';

/**
 * Leads the statement's text: triggers that lock rows this statement did not lock itself (the product listing's,
 * migration listing_lock_nowait) take those locks NOWAIT. A product whose translation rows or links change while its
 * own row is stored as sent was not locked by the chunk's product statement; waiting for it here, after other rows
 * were locked, is how two requests deadlock. The statement fails instead (55P03, see isLockBusy) and the caller
 * writes the chunk on the path that locks every stored record first.
 */
const LOCK_NOWAIT = '/* bulksync:lock-nowait */ ';


/** A data column of the statement: the field, how many rows give it, and its alias in the rows (`v<i>`, `m<i>`). */
interface DataColumn {
  field: FieldDef;
  given: Given;
  i: number;
}

function dataColumns(entity: EntityDef, rows: readonly WriteRow[]): DataColumn[] {
  const pk = new Set(entity.primaryKey);
  const counts = new Map<string, number>();
  const count = (_: unknown, f: string) => counts.set(f, (counts.get(f) ?? 0) + 1);
  for (const r of rows) r.values.forEach(count);
  const out: DataColumn[] = [];
  for (const field of entity.fieldList) {
    if (field.writeProtected || field.translated || pk.has(field.name)) continue;
    const n = counts.get(field.name) ?? 0;
    if (!n && field.default === undefined) continue;
    out.push({ field, given: n === rows.length ? 'all' : n ? 'some' : 'none', i: out.length });
  }
  return out;
}

/**
 * Inserts the new rows and updates the stored rows that differ from what they would become, in one statement that
 * leaves PostgreSQL's constraints to check the rows (WRITE-PATH: no lookup before the write):
 *
 * 1. `found`: for each staged row, whether its key is stored and whether the stored row differs from what the
 *    update would set (the customFields merge included), read without a lock.
 * 2. `l`: the stored rows that differ, locked FOR NO KEY UPDATE in key order and compared again under the lock —
 *    the strength that leaves other requests' foreign-key checks free, and the order every request shares, so that
 *    concurrent requests never deadlock on each other's rows. A row that equals what it would become is neither
 *    locked nor written: no row version, no change-feed entry.
 * 3. `nx` / `i`: the rows whose key is not stored, inserted in key order with ON CONFLICT DO NOTHING: a key (or a
 *    unique value) another transaction inserted meanwhile skips the row instead of failing the statement, and the
 *    row comes back as missed.
 * 4. `w`: the update of the locked rows.
 *
 * A foreign key, unique value, NOT NULL or CHECK a row breaks fails the statement; the caller diagnoses. So does a row
 * a trigger would have to wait for (LOCK_NOWAIT).
 *
 * Every part reaches a stored table only through its primary key, one probe per staged row, whatever the planner
 * guesses: r, found and l are LATERAL subqueries (a nested loop by construction; for l the staged rows sorted first,
 * so the locks are still taken in key order; found's carries OFFSET 0, so that it is never pulled up into a plain
 * join), a NOT EXISTS carries OFFSET 0 (not turned into an anti-join, so a correlated probe), and w joins with
 * `= ANY(ARRAY[…])` on the key's first column and IS NOT DISTINCT FROM on the rest (no clause a hash or merge join
 * can use; the probe needs an index led by the key's first column, as the key's own is). Plain
 * joins let the planner hash the whole table for every chunk: a table emptied and analyzed before a large request keeps
 * statistics of an empty table, the planner believed 20,000 rows at 98,000, and the 50th chunk of a 100,000-product
 * request hashed all of them three times per table (l, nx, w). With these shapes a 100,000-product request spends half
 * as long in these statements, and chunk time no longer grows with the table (docs/PERFORMANCE.md, "Stage statistics").
 * Statistics on the staged rows (ANALYZE of the stage after COPY) changed none of those plans: the misjudged side is
 * the stored table, not the stage.
 */
export async function upsertSet(sql: Sql, input: SetUpsert): Promise<SetUpsertOutcome> {
  return (await prepareUpsertSet(input).send(sql)).outcome;
}

/** An upsertSet made ready to send: its rows encoded and its text written, nothing sent yet. */
export interface PreparedUpsert {
  /**
   * Sends the rows, then the statement; resolves once the statement is on its way, with its answer to await (marked
   * handled, so that a failure the caller awaits only later is never reported as unhandled meanwhile).
   */
  send(sql: Sql): Promise<{ outcome: Promise<SetUpsertOutcome> }>;
}

/** A statement's answer on its way, marked handled: the caller may await it only after other work. */
function sent(outcome: Promise<SetUpsertOutcome>): { outcome: Promise<SetUpsertOutcome> } {
  outcome.catch(() => undefined);
  return { outcome };
}

/**
 * Prepares upsertSet's statement without sending anything: the happy path prepares a table's statement (`eager`:
 * every COPY Buffer encoded) while PostgreSQL runs the table's before, and sends it the moment that one answered.
 */
export function prepareUpsertSet(input: SetUpsert, eager = false): PreparedUpsert {
  const { entity, rows } = input;
  if (!rows.length) return { send: async () => sent(Promise.resolve({ inserted: [], updated: [], missed: [] })) };
  const keyFields = entity.primaryKey.map((k) => entity.fields[k]!);
  const data = dataColumns(entity, rows);
  const columns: RowColumn<WriteRow>[] = keyFields.map((k) => ({ field: k, value: (r) => r.key[k.name] }));
  for (const c of data) {
    const name = c.field.name;
    const fallback = c.field.default === undefined ? null : kindOf(c.field).toDb(c.field.default);
    columns.push({ field: c.field, value: (r) => { const v = r.values.get(name); return v !== undefined ? v : r.values.has(name) ? null : fallback; } });
    if (c.given === 'some') columns.push({ field: c.field, mask: true, value: (r) => r.values.has(name) });
  }
  const encoded = encodeRows({ entity, columns, rows, prepared: input.prepared }, eager);
  const s = encoded.source;
  const table = ident(entity.table);
  const k = keyFields.map((f, j) => ({ col: ident(f.column), alias: `k${j}` }));
  const select = [
    `${s.ordinal} AS n`,
    ...keyFields.map((f, j) => `${s.value(f)} AS k${j}`),
    ...data.flatMap((c) => [`${s.value(c.field)} AS v${c.i}`, ...(c.given === 'some' ? [`${s.mask(c.field)} AS m${c.i}`] : [])]),
  ];
  // The key's first column by `=`, the others by IS NOT DISTINCT FROM (keys are never null): a probe can then use
  // only an index led by the first column, the primary key's. With `=` on every column, a table without statistics
  // (a fresh install) had product_translation probed through its (language_id) index: every probe read every row of
  // the language, 0.12 ms per row at 1,000 rows and growing with the table (the nested bench case's translation
  // statements: 150-165 ms for 1,000 rows).
  const sameKey = (a: string, b: string) => k.map((x, j) => (j ? `${a}.${x.col} IS NOT DISTINCT FROM ${b}.${x.alias}` : `${a}.${x.col} = ${b}.${x.alias}`)).join(' AND ');
  const byKey = (a: string) => k.map((x) => `${a}.${x.alias}`).join(', ');
  const updating = data.filter((c) => c.given !== 'none');
  // The value a column gets, from the row's values in `from` (u, or l which carries u's columns) and the stored row t.
  const setExpr = (c: DataColumn, from: string) => {
    const stored = `t.${ident(c.field.column)}`;
    let v = `${from}.v${c.i}`;
    // customFields in merge mode: the given keys go into the stored object; a key given as null is removed.
    if (input.mergeKeys && c.field.mergeKeys) {
      v = `CASE WHEN ${v} IS NULL THEN NULL ELSE (coalesce(${stored}, '{}'::jsonb) || ${v}) - ARRAY(SELECT e.k FROM jsonb_each(${v}) AS e(k, x) WHERE e.x = 'null'::jsonb) END`;
    }
    return c.given === 'some' ? `CASE WHEN ${from}.m${c.i} THEN ${v} ELSE ${stored} END` : v;
  };
  const parts = [`u AS MATERIALIZED (SELECT ${select.join(', ')} FROM ${s.from})`];
  if (!data.length) {
    return {
      send: async (sql) => {
        const { params } = await sendRows(sql, encoded);
        return sent(insertKeysOnly(sql, { entity, parts, k, params }));
      },
    };
  }
  // The rows the new values point at, share-locked in key order before anything else (as the careful path does):
  // left to the foreign-key triggers, they would be locked at the end of the statement in the order of the rows.
  // A translation row's own record is not among them: it was written (so locked) just before, or is stored as
  // sent, and a lock would write each such row once more for nothing.
  const referenced = data.flatMap((c) => {
    const target = c.field.kind === 'fk' && c.given !== 'none' ? input.target?.(c.field) : undefined;
    if (!target || target.primaryKey.length !== 1 || target.name === entity.translates) return [];
    const id = ident(target.fields[target.primaryKey[0]!]!.column);
    // Each distinct value once, in key order, probing the referenced table's key (see the function's comment).
    return [
      `SELECT count(*) FROM (SELECT DISTINCT u.v${c.i} AS v FROM u WHERE u.v${c.i} IS NOT NULL ORDER BY 1) d${c.i} ` +
        `CROSS JOIN LATERAL (SELECT 1 FROM ${ident(target.table)} x WHERE x.${id} = d${c.i}.v FOR KEY SHARE) x${c.i}`,
    ];
  });
  if (referenced.length) parts.push(`r AS MATERIALIZED (${referenced.join(' UNION ALL ')})`);
  const afterReferences = referenced.length ? '(SELECT count(*) FROM r) >= 0 AND ' : '';
  // The phases run in the order of the careful path, lock → insert → update, each held back by a one-time filter on
  // the one before (PostgreSQL promises no order between the parts of a statement). Updating before inserting can
  // deadlock: a key that one request finds stored and another (with an older snapshot) finds new makes the second's
  // insert wait for the first's uncommitted row version in a unique index, while the first waits to insert a key the
  // second has just updated. A lock alone writes no index entry, so no insert waits for it.
  const insertColumns = [...keyFields.map((f) => ident(f.column)), ...data.map((c) => ident(c.field.column))];
  let newRows: string;
  if (updating.length) {
    const stored = `ROW(${updating.map((c) => `t.${ident(c.field.column)}`).join(', ')})`;
    const becomes = (from: string) => `ROW(${updating.map((c) => setExpr(c, from)).join(', ')})`;
    // found: one probe of the key per staged row (OFFSET 0 keeps it a probe, never a join the planner may hash over the
    // whole table), unlocked, saying whether the row is stored (differs not null) and whether it differs from what it
    // would become. The locks below probe only the rows that differ, the insert takes only the rows not stored: a
    // chunk of new rows or of rows stored as sent costs one probe per row, not two (measured on 2,000 rows stored as
    // sent, 20,000 stored: product 13.6 → 10.2 ms, product_translation 23.9 → 14.7 ms).
    parts.push(
      `found AS MATERIALIZED (SELECT u.*, x.differs FROM u LEFT JOIN LATERAL (SELECT ${stored} IS DISTINCT FROM ${becomes('u')} AS differs ` +
        `FROM ${table} t WHERE ${sameKey('t', 'u')} OFFSET 0) x ON true)`,
    );
    // l: the rows that differ, in key order (a nested loop keeps the order of its outer rows; ORDER BY keeps the
    // subquery from being merged into the query around it), each locked FOR NO KEY UPDATE as the loop reaches it and
    // compared again under the lock (with the row's latest version). It carries the row's values, so that the update
    // reads them from it and never scans u again.
    const ordered = `(SELECT * FROM found f WHERE ${afterReferences}f.differs ORDER BY ${byKey('f')}) o`;
    parts.push(
      `l AS MATERIALIZED (SELECT o.* FROM ${ordered} ` +
        `CROSS JOIN LATERAL (SELECT 1 FROM ${table} t WHERE ${sameKey('t', 'o')} ` +
        `AND ${stored} IS DISTINCT FROM ${becomes('o')} FOR NO KEY UPDATE OF t${input.nowait ? ' NOWAIT' : ''}) x)`,
    );
    // A row another transaction deletes after this statement's snapshot is neither locked (gone under the lock) nor
    // inserted (found saw it): it is reported as stored, as the statement before this one did.
    newRows = `SELECT u.* FROM found u WHERE (SELECT count(*) FROM l) >= 0 AND u.differs IS NULL`;
  } else {
    // Nothing to update: only whether the key is stored. OFFSET 0 keeps the NOT EXISTS a probe of the key per
    // staged row (PostgreSQL turns a plain one into an anti-join, which it may hash over the whole table).
    newRows = `SELECT u.* FROM u WHERE ${afterReferences}NOT EXISTS (SELECT 1 FROM ${table} t WHERE ${sameKey('t', 'u')} OFFSET 0)`;
  }
  parts.push(
    `nx AS MATERIALIZED (${newRows})`,
    `i AS (INSERT INTO ${table} (${insertColumns.join(', ')}, created_at) ` +
      `SELECT ${[...k.map((x) => `u.${x.alias}`), ...data.map((c) => `u.v${c.i}`)].join(', ')}, now() FROM nx u ORDER BY ${k.map((x) => `u.${x.alias}`).join(', ')} ` +
      `ON CONFLICT DO NOTHING RETURNING ${keyColumns(entity)})`,
  );
  if (updating.length) {
    // The key's first column as `= ANY(ARRAY[l.k0])`, the others as IS NOT DISTINCT FROM (keys are never null): the
    // only join left is a nested loop probing the primary key for each locked row. With `=` on every column the
    // planner hashed the whole table; with `= ANY` on every column of product_translation's key one plan chose the
    // (language_id) index, which would read every row of the language for each row.
    parts.push(
      `w AS (UPDATE ${table} t SET ${updating.map((c) => `${ident(c.field.column)} = ${setExpr(c, 'l')}`).join(', ')}, updated_at = ${nextUpdatedAt('t')} ` +
        `FROM l WHERE ${k.map((x, j) => (j ? `t.${x.col} IS NOT DISTINCT FROM l.${x.alias}` : `t.${x.col} = ANY(ARRAY[l.${x.alias}])`)).join(' AND ')} ` +
        `AND (SELECT count(*) FROM i) >= 0 RETURNING l.n)`,
    );
  }
  // One row of three lists of positions, as text: a row per staged row cost the service more to receive and parse
  // than anything else it does with the answer (two protocol messages and a row object each; 200,000 per pass of a
  // 100,000-product import).
  const text =
    `${LOCK_NOWAIT}WITH ${parts.join(',\n')}\n` +
    `SELECT ${updating.length ? '(SELECT string_agg(n::text, \',\') FROM w)' : 'NULL'} AS u, ` +
    // The rows meant to be inserted, and those the insert skipped (another request inserted them meanwhile). The
    // skipped ones are matched up only when the counts differ: a one-time filter, nothing on the usual path.
    `(SELECT string_agg(n::text, ',') FROM nx) AS n, ` +
    `(SELECT string_agg(x.n::text, ',') FROM nx x WHERE (SELECT count(*) FROM i) < (SELECT count(*) FROM nx) ` +
    `AND NOT EXISTS (SELECT 1 FROM i WHERE ${sameKey('i', 'x')})) AS m`;
  const answer = async (sql: Sql): Promise<SetUpsertOutcome> => {
    const result = await sql.query<Record<'u' | 'n' | 'm', string | null>>(text, s.params);
    const { u, n, m } = result.rows[0]!;
    const meant = positions(n);
    const missed = new Set(positions(m));
    return {
      updated: positions(u),
      inserted: missed.size ? meant.filter((p) => !missed.has(p)) : meant,
      missed: [...missed].sort((a, b) => a - b),
    };
  };
  return {
    send: async (sql) => {
      await sendRows(sql, encoded);
      return sent(answer(sql));
    },
  };
}

/**
 * The statement of an entity whose rows are their key and nothing else (a mapping such as product_category): a row
 * is inserted, or it is stored already and stays as it is. No probe before the insert, and nothing to lock or update:
 * a key another transaction inserted meanwhile is a row stored as sent once that transaction committed (the insert
 * waited for it). So no row is ever missed, and the inserted rows are the ones the insert returns.
 */
async function insertKeysOnly(
  sql: Sql,
  { entity, parts, k, params }: { entity: EntityDef; parts: readonly string[]; k: readonly { col: string; alias: string }[]; params: readonly unknown[] },
): Promise<SetUpsertOutcome> {
  const byKey = k.map((x) => `u.${x.alias}`).join(', ');
  const text =
    `${LOCK_NOWAIT}WITH ${parts.join(',\n')},\n` +
    `i AS (INSERT INTO ${ident(entity.table)} (${k.map((x) => x.col).join(', ')}, created_at) SELECT ${byKey}, now() FROM u ORDER BY ${byKey} ` +
    `ON CONFLICT DO NOTHING RETURNING ${keyColumns(entity)})\n` +
    `SELECT (SELECT string_agg(u.n::text, ',') FROM u JOIN i ON ${k.map((x) => `i.${x.col} = u.${x.alias}`).join(' AND ')}) AS n`;
  const result = await sql.query<{ n: string | null }>(text, params);
  const inserted = positions(result.rows[0]!.n);
  return { inserted: inserted.sort((a, b) => a - b), updated: [], missed: [] };
}

/** Positions in the rows (from 0) of a list of ordinals (from 1) as the statement returns them. */
function positions(list: string | null): number[] {
  if (!list) return [];
  // Digits read in place: split would make a string per row (two lists of 2,000 per chunk and table).
  let count = 1;
  for (let i = 0; i < list.length; i++) if (list.charCodeAt(i) === 0x2c) count++;
  const at = new Array<number>(count);
  let j = 0;
  let n = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list.charCodeAt(i);
    if (c === 0x2c) {
      at[j++] = n - 1;
      n = 0;
    } else n = n * 10 + (c - 0x30);
  }
  at[j] = n - 1;
  return at;
}
