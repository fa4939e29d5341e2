import { createHash } from 'node:crypto';
import { copyChunks } from '../db/copy-text';
import { ident, type Sql } from '../db/sql';
import { kindOf } from '../definitions/kinds';
import type { EntityDef, FieldDef } from '../definitions/types';

/**
 * The staging table of an entity: a temporary table that rows are COPYed into before one set-based INSERT or UPDATE
 * moves them into the entity's table. COPY is the cheapest way into PostgreSQL (no statement text or array literal
 * per value, each value parsed once by its column's input function); the statement after it keeps what COPY lacks
 * (ON CONFLICT, defaults, `created_at`/`updated_at`, the merge masks).
 *
 * One table per entity and connection, kept for the connection's life (`ON COMMIT DELETE ROWS` empties it at each
 * commit): creating a table per write would add and remove catalog rows on every request. Its columns are
 * positional: `c<i>` holds field i of the entity (typed as the field's SQL type, no constraints), `m<i>` says
 * whether the row sets it (updates that merge different fields per row).
 */
export interface Stage {
  /** Schema-qualified name (pg_temp: a real table of that name can never shadow it). */
  name: string;
  /** Creates the table on this connection if needed, and empties it. */
  prepare: string;
  /** The stage column holding a field's value. */
  value(f: FieldDef): string;
  /** The stage column holding whether a row sets a field. */
  mask(f: FieldDef): string;
}

const stages = new WeakMap<EntityDef, Stage>();

export function stageOf(entity: EntityDef): Stage {
  let stage = stages.get(entity);
  if (!stage) {
    const position = new Map(entity.fieldList.map((f, i) => [f.name, i]));
    const columns = entity.fieldList.flatMap((f, i) => [`c${i} ${kindOf(f).sqlType}`, `m${i} boolean`]);
    // The layout is in the name: a connection can never find a table of another shape under it.
    const layout = createHash('sha1').update(`${entity.table}\n${columns.join(',')}`).digest('hex').slice(0, 12);
    const name = `pg_temp.${ident(`bulksync_stage_${entity.table.slice(0, 32)}_${layout}`)}`;
    stage = {
      name,
      prepare: `CREATE TEMP TABLE IF NOT EXISTS ${name} (${columns.join(', ')}) ON COMMIT DELETE ROWS; TRUNCATE ${name}`,
      value: (f) => `c${position.get(f.name)!}`,
      mask: (f) => `m${position.get(f.name)!}`,
    };
    stages.set(entity, stage);
  }
  return stage;
}

/** A column of the COPY: the stage column it fills and the COPY text of its value in a row. */
export interface StageColumn<R> {
  column: string;
  text(row: R): string;
}

/** Empties the entity's stage (creating it on this connection if needed) and COPYs `rows` into it, one line each. */
export async function fillStage<R>(sql: Sql, stage: Stage, columns: readonly StageColumn<R>[], rows: readonly R[]): Promise<void> {
  await sql.query(stage.prepare);
  const texts = columns.map((c) => c.text);
  const n = texts.length;
  const line = (row: R): string => {
    let out = texts[0]!(row);
    for (let i = 1; i < n; i++) out += '\t' + texts[i]!(row);
    return out;
  };
  await sql.copyFrom(`COPY ${stage.name} (${columns.map((c) => c.column).join(', ')}) FROM STDIN`, copyChunks(rows, line));
}
