import { kindOf } from '../../definitions/kinds';
import { pointer, type Problem } from '../../errors';
import { classifyDbError, type DbFault } from '../../write/db-errors';
import { retryUnderSavepoint, type TryOutcome } from './savepoint-retry';
import { keyString } from '../../write/keys';
import { insertRows, updateRows, type WriteRow } from '../../write/upsert';
import { refPointer } from '../plan/plan';
import { resolveUpsert, type ResolvedRow } from './resolve';
import type { CommandRun } from './state';
import { forgetResolutions, PendingRef } from '../plan/pending';
import type { UpsertCommand, UpsertRow } from '../types';

const COMMAND_SAVEPOINT = 'bulksync_cmd';

/** After a statement failed outside a savepoint, the transaction takes no more statements. */
export type CommandOutcome = 'ok' | 'aborted';

/** Re-runs of a command whose new keys another transaction committed meanwhile, before falling back to DO UPDATE. */
const NEW_KEY_RETRIES = 10;

/** What a try of a command met, in the order it can meet it: what `nextStep` decides on. */
export type UpsertEvent =
  /** The lookups ran; `uniqueTaken`: one found a unique value taken while the command made up keys of its own. */
  | { at: 'looked-up'; problems: number; writable: boolean; uniqueTaken: boolean; uniqueRetries: number }
  /** New rows went in with DO NOTHING; fewer than sent means another transaction committed some keys meanwhile. */
  | { at: 'inserted'; inserted: number; fresh: number }
  /** A write statement failed: on a unique value, on another check named as a problem, or on something else. */
  | { at: 'failed'; error: 'unique' | 'named' | 'unknown' };

/**
 * What the command does next:
 * - `again`: back to its savepoint, one more try (it then sees what another request committed meanwhile);
 * - `write`: go on to the statements;
 * - `report`: keep what the try looked up and report its problems (a failing request writes nothing more);
 * - `undo`: back to the savepoint, report the failed statement's problem, the transaction goes on;
 * - `abort`: a statement failed outside a savepoint: the transaction takes no more statements;
 * - `throw`: an error no record explains (the request's transaction is rolled back by the caller).
 * A try whose statements all succeeded keeps what it wrote.
 */
export type UpsertNext = 'again' | 'write' | 'report' | 'undo' | 'abort' | 'throw';

export function nextStep(guarded: boolean, e: UpsertEvent): UpsertNext {
  switch (e.at) {
    case 'looked-up':
      // A unique value that another request committed between this command's lookups (its record looked new, then
      // its value looked taken): once or twice, run again rather than report a conflict the client did not cause.
      if (guarded && e.uniqueTaken && e.uniqueRetries < UNIQUE_RETRIES) return 'again';
      return e.problems || !e.writable ? 'report' : 'write';
    case 'inserted':
      return guarded && e.inserted < e.fresh ? 'again' : 'write';
    case 'failed':
      // Another request created a record with the same external id (or matchBy value, or another unique value)
      // after this one looked: run again, and find it (or report the conflict).
      if (guarded && e.error === 'unique') return 'again';
      if (e.error === 'unknown') return 'throw';
      return guarded ? 'undo' : 'abort';
  }
}

/** Re-runs of a command that met a unique value committed meanwhile by another request, before reporting it. */
const UNIQUE_RETRIES = 2;

const AGAIN: TryOutcome<CommandOutcome> = { savepoint: 'again', value: 'ok' };

/**
 * The careful path of one upsert command: lookups that name record and field (resolve.ts), then the writes. Each try
 * decides with `nextStep`; `retryUnderSavepoint` is the one loop around the tries and the one place that keeps or
 * undoes the command's savepoint.
 */
export async function runUpsert(run: CommandRun, cmd: UpsertCommand): Promise<CommandOutcome> {
  const { op, writable } = run;
  // create-only: what is nested in a payload record found existing is left out (the record itself is looked up
  // again, so that it is reported under skipped whatever try succeeds).
  const planned = op.skipped.size ? cmd.rows.filter((r) => r.root || !op.skipped.has(r.ref.index)) : cmd.rows;
  const pk = new Set(cmd.entity.primaryKey);
  const command: CommandTry = {
    run,
    cmd,
    planned,
    pk,
    hasFields: cmd.entity.fieldList.some((f) => !pk.has(f.name) && !f.writeProtected),
    // Only references change rows while they are resolved (ids written in, rows found to be the same merged).
    hasReferences: planned.some((r) => [...r.values.values()].some((v) => v instanceof PendingRef)),
    uniqueRetries: 0,
  };
  return retryUnderSavepoint(run.sql, {
    name: COMMAND_SAVEPOINT,
    // Existing rows are locked in key order, then new rows inserted in key order. A new key that another
    // transaction commits in between must not be locked out of that order (that is how concurrent imports
    // deadlock): new rows go in with DO NOTHING, and when a key turned up meanwhile the command runs again from its
    // savepoint, now seeing it as existing and locking it in order with the others. The last try goes without.
    guarded: (n) => writable && command.hasFields && n < NEW_KEY_RETRIES,
    attempt: (n, guarded) => tryUpsert(command, n, guarded),
  });
}

/** A command and what its tries share. */
interface CommandTry {
  run: CommandRun;
  cmd: UpsertCommand;
  /** The rows as planned (create-only: without what is nested in records found existing). */
  planned: UpsertRow[];
  pk: ReadonlySet<string>;
  hasFields: boolean;
  hasReferences: boolean;
  uniqueRetries: number;
}

async function tryUpsert(command: CommandTry, attempt: number, guarded: boolean): Promise<TryOutcome<CommandOutcome>> {
  const { run, planned, pk, hasFields, hasReferences } = command;
  const { sql, registry, known: state, op, result, problems, writable } = run;
  // Each try resolves a fresh copy of the planned rows: the plan stays as planned, so a re-run (from the savepoint,
  // or of the whole transaction after a deadlock) resolves against what is committed by then.
  const cmd: UpsertCommand = { ...command.cmd, rows: hasReferences ? planned.map((r) => ({ ref: r.ref, root: r.root, values: new Map(r.values), ...(r.version === undefined ? {} : { version: r.version }) })) : planned };
  const { entity } = cmd;
  if (attempt > 0) forgetResolutions(planned);
  const resolved = await resolveUpsert({ sql, registry, cmd, known: state.keys, deferFor: op.deferFor });
  // Kept only for a snapshot clear (`missing`): a million-record upsert without one keeps no keys.
  if (cmd.isRootEntity && cmd.keepsNames) for (const r of resolved.rows) if (r.row.root) op.named.add(keyString(entity, r.key));
  const uniqueTaken = resolved.problems.some((p) => p.code === 'UNIQUE_VIOLATION') && madeUpKeys(planned);
  const looked = nextStep(guarded, { at: 'looked-up', problems: resolved.problems.length, writable, uniqueTaken, uniqueRetries: command.uniqueRetries });
  if (looked === 'again') {
    command.uniqueRetries++;
    return AGAIN;
  }
  if (looked === 'report') {
    problems.push(...resolved.problems);
    // Still checked at the operation's end, so that a failing request reports them too.
    op.deferred.push(...resolved.deferred);
    return { savepoint: 'keep', value: 'ok' };
  }
  const hasData = (r: ResolvedRow) => [...r.row.values.keys()].some((f) => !pk.has(f));
  let fresh = resolved.rows.filter((r) => !r.exists);
  let existing = resolved.rows.filter((r) => r.exists);
  const skipped = cmd.mode === 'create-only' ? existing.filter((r) => r.row.root || hasData(r)) : [];
  if (cmd.isRootEntity) for (const r of skipped) if (r.row.root) op.skipped.add(r.row.ref.index);
  // Children of the same entity as a skipped record (a category's subcategories) are in this very command.
  if (cmd.mode === 'create-only' && op.skipped.size) fresh = fresh.filter((r) => r.row.root || !op.skipped.has(r.row.ref.index));
  if (cmd.mode === 'create-only') existing = [];
  // A reference that waits for a later chunk is written as null for now (the plan's own values stay as planned).
  const waiting = new Map<UpsertRow, string[]>();
  for (const d of resolved.deferred) waiting.set(d.row, [...(waiting.get(d.row) ?? []), d.field.name]);
  const toWrite = (r: ResolvedRow): WriteRow => {
    const fields = waiting.get(r.row);
    if (!fields) return { key: r.key, values: r.row.values };
    const values = new Map(r.row.values);
    for (const f of fields) values.set(f, null);
    return { key: r.key, values };
  };
  const changed = existing.filter((r) => !r.reference);
  const updates = cmd.mode === 'replace' && cmd.isRootEntity ? changed.map((r) => replaced(cmd, toWrite(r))) : changed.map(toWrite);
  // Existing rows a statement changed (the others hold what they would become: no new version, no event).
  const updated = new Set<ResolvedRow>();
  try {
    const inserted = await insertRows(sql, entity, fresh.map(toWrite), guarded || !hasFields ? 'nothing' : 'update');
    if (nextStep(guarded, { at: 'inserted', inserted, fresh: fresh.length }) === 'again') return AGAIN;
    await state.marks.before(sql, entity, updates.map((u) => u.key));
    for (const i of await updateRows(sql, entity, updates, { mergeKeys: !(cmd.mode === 'replace' && cmd.isRootEntity) })) updated.add(changed[i]!);
  } catch (e) {
    const fault = classifyDbError(e, 'write');
    const next = nextStep(guarded, { at: 'failed', error: fault?.code === 'UNIQUE_VIOLATION' ? 'unique' : fault ? 'named' : 'unknown' });
    if (next === 'again') return AGAIN;
    if (next === 'throw') throw e;
    problems.push(dbProblem(fault!, cmd, resolved.rows));
    // Under the command's savepoint the transaction goes on (later chunks are still checked); without one, the
    // failed statement ended it.
    return next === 'undo' ? { savepoint: 'undo', value: 'ok' } : { savepoint: 'none', value: 'aborted' };
  }
  op.deferred.push(...resolved.deferred.filter((d) => !skipped.some((r) => r.row === d.row)));
  result.add('skipped', entity, skipped.map((r) => r.key));
  const written = [...fresh, ...existing];
  await state.marks.after(sql, entity, [...fresh, ...updated].map((r) => r.key));
  const order = new Map(resolved.rows.map((r, i) => [r, i]));
  written.sort((a, b) => order.get(a)! - order.get(b)!);
  const listed = written.filter((r) => r.row.root || entity.isMapping || hasData(r));
  // Existing mapping rows (ON CONFLICT DO NOTHING) and rows the update left alone were stored as sent already.
  result.addWritten(entity, listed.map((r) => r.key), (i) => listed[i]!.exists && !updated.has(listed[i]!));
  return { savepoint: 'keep', value: 'ok' };
}

/** Whether the command made up ids for records it did not find (records another request may be creating too). */
function madeUpKeys(rows: readonly UpsertRow[]): boolean {
  return rows.some((r) => [...r.values.values()].some((v) => v instanceof PendingRef && v.created));
}

/** mode replace: every writable field the record leaves out goes back to its default, or null. */
export function replaced(cmd: UpsertCommand, r: WriteRow): WriteRow {
  const values = new Map(r.values);
  for (const f of cmd.entity.fieldList) {
    if (f.writeProtected || f.translated || cmd.entity.primaryKey.includes(f.name) || values.has(f.name)) continue;
    values.set(f.name, f.default === undefined ? null : kindOf(f).toDb(f.default));
  }
  return { key: r.key, values };
}

/** A database error during a write, pinned to the record carrying the offending value when it can be found. */
function dbProblem(fault: DbFault, cmd: UpsertCommand, rows: readonly ResolvedRow[]): Problem {
  const field = cmd.entity.fieldList.find((f) => f.column === fault.column);
  const culprit = field && fault.value !== undefined ? rows.find((r) => String(r.row.values.get(field.name)) === fault.value) : undefined;
  return {
    code: fault.code,
    detail: field ? fault.detail.replace(field.column, field.name) : fault.detail,
    pointer: culprit ? refPointer(culprit.row.ref, ...(field ? [field.name] : [])) : pointer(cmd.op),
    meta: culprit
      ? { operation: cmd.op, entity: cmd.entity.name, index: culprit.row.ref.index }
      : { operation: cmd.op, entity: cmd.entity.name, unattributed: true },
  };
}
