import { createHash } from 'node:crypto';
import { arrayLiteral } from '../db/array-literal';
import { copyChunks, type CopyWriter } from '../db/copy-text';
import { ident, type Sql } from '../db/sql';
import { kindOf } from '../definitions/kinds';
import type { EntityDef, FieldDef } from '../definitions/types';

/**
 * How a set-based INSERT or UPDATE reads the rows it writes, in one of two ways with the same columns:
 *
 * - many rows are COPYed into the entity's staging table first: COPY is the cheapest way into PostgreSQL (each value
 *   parsed once by its column's input function, no array literal per column to build and parse), about 6 times less
 *   of the service's CPU per row than array parameters (docs/PERFORMANCE.md);
 * - a few rows go as array parameters of `unnest(…)` in the statement itself: one round trip instead of three, no
 *   table to empty, which is what a 100-record sync under load wants.
 *
 * Columns are named by position in either case: `c<i>` holds field i of the entity, `m<i>` whether the row sets it,
 * and `ord` the row's position in `rows` (from 1), so that what a statement returns names the row it came from.
 */

/** Kinds whose database values never hold a character COPY escapes (ids are validated UUIDs). */
const PLAIN_KINDS: ReadonlySet<string> = new Set(['id', 'fk', 'int', 'float', 'bool']);

/** Rows from which COPY pays for its two extra round trips and the emptying of the stage (measured, see above). */
export const COPY_MIN_ROWS = 1_000;

/** A column of the rows: a field's database value in a row, or (mask) whether the row sets the field. */
export interface RowColumn<R> {
  field: FieldDef;
  mask?: boolean;
  value(row: R): unknown;
}

/** The rows as the statement reads them. */
export interface RowSource {
  /** FROM item, aliased `s`. */
  from: string;
  params: unknown[];
  /** Expression of a field's value in `s`, of the field's SQL type. */
  value(f: FieldDef): string;
  /** Expression in `s`: whether the row sets the field. */
  mask(f: FieldDef): string;
  /** Expression in `s`: the row's position in the rows given (from 1). */
  ordinal: string;
  /**
   * ORDER BY list: key order (uuid order, that of compareKeys on keys in database spelling), the order in which a
   * statement takes its locks so that concurrent requests take them in the same order; rows of one key in the order
   * given. PostgreSQL sorts uuids many times faster than JavaScript sorts their strings.
   */
  order: string;
}

function positions(entity: EntityDef): Map<string, number> {
  let p = positionCache.get(entity);
  if (!p) positionCache.set(entity, (p = new Map(entity.fieldList.map((f, i) => [f.name, i]))));
  return p;
}
const positionCache = new WeakMap<EntityDef, Map<string, number>>();

function columnName(entity: EntityDef, c: { field: FieldDef; mask?: boolean }): string {
  return `${c.mask ? 'm' : 'c'}${positions(entity).get(c.field.name)!}`;
}

/** The rows a statement writes, the columns it reads of them, and whether their stage was made ready already. */
export interface RowsToSend<R> {
  entity: EntityDef;
  columns: readonly RowColumn<R>[];
  rows: readonly R[];
  /**
   * The caller sent stagePreparation(sql, entity) in this transaction after its last savepoint rollback, and nothing
   * has used the stage since (the happy path prepares a chunk's stages together with its savepoint, in one round trip).
   */
  prepared?: boolean;
}

/** Whether rows go through the entity's stage by COPY (else as array parameters). */
export function usesStage(rows: number): boolean {
  return rows >= COPY_MIN_ROWS;
}

/**
 * Rows encoded for their statement, not yet sent: the COPY data (or the array parameters) and how the statement reads
 * them. `sendRows` sends them; a caller that encodes the next table's rows while PostgreSQL runs the statement before
 * (the happy path) sends them the moment it may.
 */
export interface EncodedRows {
  source: RowSource;
  /** The COPY into the entity's stage, when the rows go that way. */
  copy?: { statement: string; data: Iterable<Buffer>; stage: Stage; rows: number };
  prepared: boolean;
}

/**
 * Encodes the rows (`eager`: every COPY Buffer now, so that the COPY later streams at the socket's pace instead of
 * waiting for the service between Buffers; else as the COPY pulls them). Nothing is sent.
 */
export function encodeRows<R>({ entity, columns, rows, prepared = false }: RowsToSend<R>, eager = false): EncodedRows {
  const keys = entity.primaryKey.map((k) => entity.fields[k]!);
  const name = (f: FieldDef, mask = false) => columnName(entity, { field: f, mask });
  if (!usesStage(rows.length)) {
    const type = (c: RowColumn<R>) => (c.mask ? 'boolean' : kindOf(c.field).paramType);
    const params = columns.map((c) => arrayLiteral(rows.map((r) => c.value(r)), type(c)));
    const value = (f: FieldDef) => {
      const kind = kindOf(f);
      return kind.paramType === kind.sqlType ? `s.${name(f)}` : `s.${name(f)}::${kind.sqlType}`;
    };
    return {
      source: {
        from: `unnest(${columns.map((c, i) => `$${i + 1}::${type(c)}[]`).join(', ')}) WITH ORDINALITY AS s(${columns.map((c) => columnName(entity, c)).join(', ')}, ord)`,
        params,
        value,
        mask: (f) => `s.${name(f, true)}`,
        ordinal: 's.ord',
        order: [...keys.map(value), 's.ord'].join(', '),
      },
      prepared,
    };
  }
  const stage = stageOf(entity);
  const n = columns.length;
  const plain = columns.map((c) => c.mask || PLAIN_KINDS.has(c.field.kind));
  let ord = 0;
  const line = (row: R, out: CopyWriter): void => {
    out.plainField(++ord);
    for (let i = 0; i < n; i++) {
      out.tab();
      if (plain[i]) out.plainField(columns[i]!.value(row));
      else out.field(columns[i]!.value(row));
    }
  };
  const chunks = copyChunks(rows, line);
  return {
    source: {
      from: `${stage.name} AS s`,
      params: [],
      value: (f) => `s.${name(f)}`,
      mask: (f) => `s.${name(f, true)}`,
      ordinal: 's.ord',
      order: [...keys.map((k) => `s.${name(k)}`), 's.ord'].join(', '),
    },
    copy: { statement: `COPY ${stage.name} (ord, ${columns.map((c) => columnName(entity, c)).join(', ')}) FROM STDIN`, data: eager ? [...chunks] : chunks, stage, rows: rows.length },
    prepared,
  };
}

/** Sends encoded rows: a COPY into the stage (made ready first unless the caller did), or nothing for parameters. */
export async function sendRows(sql: Sql, { source, copy, prepared }: EncodedRows): Promise<RowSource> {
  if (!copy) return source;
  // Outside a transaction every statement commits on its own, and the stage would lose the rows before the next one.
  if (!sql.inTransaction()) throw new Error(`a write of ${copy.rows} rows goes through a staging table emptied at each commit: run it inside a transaction`);
  if (!prepared) await sql.query(stagePreparation(sql, copy.stage.entity));
  // Before the COPY: rows it sends before failing are undone with its (sub)transaction, but a stage marked filled
  // that is empty costs one TRUNCATE, never a wrong row.
  filledStages(sql).add(copy.stage.name);
  await sql.copyFrom(copy.statement, copy.data);
  return source;
}

export async function rowSource<R>(sql: Sql, input: RowsToSend<R>): Promise<RowSource> {
  return sendRows(sql, encodeRows(input));
}

/**
 * The staging table of an entity: a temporary table with a column per field (typed as the field's SQL type, no
 * constraints) and a mask column per field. One per entity and connection, kept for the connection's life
 * (`ON COMMIT DELETE ROWS` empties it at each commit): a table per write would add and remove catalog rows on every
 * request. The layout is in its name, so that a connection can never find a table of another shape under it;
 * pg_temp, so that no real table shadows it.
 *
 * Its rows vanish at each commit: writes through it must run inside a transaction (the sync's always do).
 */
interface Stage {
  entity: EntityDef;
  name: string;
  /** Creates the table on this connection if needed. */
  create: string;
  /** Empties it. */
  empty: string;
}

const stages = new WeakMap<EntityDef, Stage>();

/**
 * The stages filled through a connection since it was taken from the pool (its Sql is made then). A transaction's
 * stage is empty until the transaction fills it: the commit before emptied it, a rollback undid what it held. So only
 * a stage filled before in the same transaction (an entity written by a second chunk, or written again in one) is
 * emptied first: the first TRUNCATE of a table in a transaction costs about a millisecond (a new file), and a chunk
 * of 1,000 products emptied two stages that were empty already, a nested request five.
 */
const filled = new WeakMap<Sql, Set<string>>();

function filledStages(sql: Sql): Set<string> {
  let names = filled.get(sql);
  if (!names) filled.set(sql, (names = new Set()));
  return names;
}

/**
 * What makes the entity's stage ready for a COPY through `sql` (created if needed, emptied if this connection filled
 * it before), to send in one round trip with other statements; the write that follows says `prepared`. A rollback to
 * a savepoint taken before it undoes the emptying, and can bring back rows a stage held: a stage once filled through
 * this connection is emptied before every later use.
 */
export function stagePreparation(sql: Sql, entity: EntityDef): string {
  const stage = stageOf(entity);
  return filledStages(sql).has(stage.name) ? `${stage.create}; ${stage.empty}` : stage.create;
}

function stageOf(entity: EntityDef): Stage {
  let stage = stages.get(entity);
  if (!stage) {
    const columns = ['ord bigint', ...entity.fieldList.flatMap((f, i) => [`c${i} ${kindOf(f).sqlType}`, `m${i} boolean`])];
    const layout = createHash('sha1').update(`${entity.table}\n${columns.join(',')}`).digest('hex').slice(0, 12);
    const name = `pg_temp.${ident(`bulksync_stage_${entity.table.slice(0, 32)}_${layout}`)}`;
    stage = { entity, name, create: `CREATE TEMP TABLE IF NOT EXISTS ${name} (${columns.join(', ')}) ON COMMIT DELETE ROWS`, empty: `TRUNCATE ${name}` };
    stages.set(entity, stage);
  }
  return stage;
}
