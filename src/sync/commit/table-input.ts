import type { Registry } from '../../definitions/registry';
import type { EntityDef, FieldDef } from '../../definitions/types';
import type { Key } from '../../write/keys';
import type { PreparedUpsert, SetUpsert } from '../../write/upsert-set';
import type { WriteRow } from '../../write/upsert';
import { rowKey } from './resolve';
import { replaced } from './run-upsert';
import type { OperationPlan, UpsertCommand, UpsertRow } from '../types';

/** A nested record that gives nothing but its key: it names a record, which the referencing row's foreign key checks. */
export function isReference(cmd: UpsertCommand, row: UpsertRow): boolean {
  const { entity } = cmd;
  if (entity.isMapping || (row.root && cmd.mode === 'replace')) return false;
  // Every value is a key part: as many key parts set as values (no iterator per row).
  let parts = 0;
  for (const k of entity.primaryKey) if (row.values.has(k)) parts++;
  return parts === row.values.size;
}

/** The entity a foreign key field points at. */
export function targetIn(registry: Registry): (f: FieldDef) => EntityDef | undefined {
  return (f) => (f.references ? registry.find(f.references) : undefined);
}

/** A command's table as its statement takes it: every row's key, and the rows it writes. */
export interface TableInput {
  keys: Key[];
  /** Positions in the command's rows of the rows written (the others name records). */
  writing: number[];
  input: SetUpsert;
}

export interface TableSettings {
  /** The entity a foreign key field points at. */
  target: (field: FieldDef) => EntityDef | undefined;
  /** The entity's stage was made ready by the chunk's first round trip. */
  prepared: boolean;
}

/** The statement's input for a command whose rows all carry their keys. */
export function tableInput(cmd: UpsertCommand, rows: readonly UpsertRow[], s: TableSettings): TableInput {
  const { entity } = cmd;
  const keys = rows.map((r) => rowKey(entity, r));
  const writing: number[] = [];
  const writeRows: WriteRow[] = [];
  const replacing = cmd.mode === 'replace' && cmd.isRootEntity;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    if (isReference(cmd, row)) continue;
    writing.push(i);
    const w: WriteRow = { key: keys[i]!, values: row.values };
    writeRows.push(replacing && row.root ? replaced(cmd, w) : w);
  }
  return { keys, writing, input: { entity, rows: writeRows, mergeKeys: !replacing, target: s.target, prepared: s.prepared } };
}

/** The rows of a command a chunk writes (reference-only rows left out). */
export function writtenCount(cmd: UpsertCommand): number {
  let n = 0;
  for (const row of cmd.rows) if (!isReference(cmd, row)) n++;
  return n;
}

/**
 * A chunk's first table, its COPY Buffers encoded while PostgreSQL ran the last statement of the chunk before: that
 * COPY then never waits for the service, which otherwise encoded its rows as PostgreSQL pulled them, between
 * planning the chunk after (a request of 20,000 products: its product COPYs took twice raw COPY's time).
 */
export interface EarlyTable extends TableInput {
  cmd: UpsertCommand;
  statement: PreparedUpsert;
}

// Beside the plan, not in it (a plan does not change once made); dropped with the plan.
const early = new WeakMap<OperationPlan, EarlyTable>();

/** Whether the plan's first table is encoded already (a later try of the chunk before need not do it again). */
export function hasEarly(plan: OperationPlan): boolean {
  return early.has(plan);
}

export function keepEarly(plan: OperationPlan, table: EarlyTable): void {
  early.set(plan, table);
}

/** The early table of the plan's command, once: a try after the first encodes its rows again. */
export function takeEarly(plan: OperationPlan, cmd: UpsertCommand): EarlyTable | undefined {
  const table = early.get(plan);
  if (!table) return undefined;
  early.delete(plan);
  return table.cmd === cmd ? table : undefined;
}
