import { touchOwners } from './unchanged';
import type { Sql } from '../../db/sql';
import type { Registry } from '../../definitions/registry';
import type { EntityDef, FieldDef } from '../../definitions/types';
import type { IndexMarks } from '../../indexing/marks';
import { isConstraintFault, isLockBusy } from '../../write/db-errors';
import { keyString, type Key } from '../../write/keys';
import { savepoints } from '../../write/savepoints';
import { retryUnderSavepoint, type SavepointFate, type TryOutcome } from './savepoint-retry';
import { stagePreparation, usesStage } from '../../write/row-source';
import { prepareUpsertSet, upsertSet, type PreparedUpsert, type SetUpsert, type SetUpsertOutcome } from '../../write/upsert-set';
import { forgetResolutions, PendingRef, planRows } from '../plan/pending';
import type { Problem } from '../../errors';
import { mergeSameKey } from './resolve';
import { hasEarly, isReference, keepEarly, tableInput, takeEarly, targetIn, writtenCount, type TableInput } from './table-input';
import { holdsFailed, settleReferences } from './resolve-references';
import { ResolvedValues } from './resolved-values';
import { SyncResult } from '../result';
import type { OperationState, RequestState } from './state';
import type { OperationPlan, UpsertCommand, UpsertRow } from '../types';

/**
 * The write of a chunk whose records PostgreSQL can check by itself: one statement per table (write/upsert-set.ts),
 * no lookup before it. When a statement fails on a constraint (a reference to nothing, a unique value taken, a
 * value out of range) or a row was inserted by another transaction meanwhile, the chunk goes back to its savepoint
 * and the caller runs it through the diagnosing path (run-upsert.ts), which names record and field as ever: a correct
 * import pays for no diagnosis, a wrong one pays once, for its chunk.
 */

/** The chunk's savepoint; a caller that took it already (with BEGIN, in one round trip) says so. */
export const CHUNK_SAVEPOINT = 'bulksync_chunk';

/** Fields a record must carry to be written without a lookup: what an insert needs (a stock-only update does not). */
const requiredCache = new WeakMap<EntityDef, readonly FieldDef[]>();
function requiredFields(entity: EntityDef): readonly FieldDef[] {
  let r = requiredCache.get(entity);
  if (!r) requiredCache.set(entity, (r = entity.fieldList.filter((f) => f.required && !f.writeProtected && !entity.primaryKey.includes(f.name))));
  return r;
}

function commandQualifies(cmd: UpsertCommand, marks: IndexMarks): boolean {
  if (cmd.mode === 'create-only' || marks.readsBefore(cmd.entity)) return false;
  const required = requiredFields(cmd.entity);
  const replacing = cmd.mode === 'replace' && cmd.isRootEntity;
  for (const r of cmd.rows) {
    // A version precondition is compared under the lock the diagnosing path takes before it writes: it names the
    // record and field of a conflict the way it names every other problem.
    if (r.version !== undefined) return false;
    if (isReference(cmd, r)) {
      // A payload record with nothing but its id is looked up (it must exist); a nested one is checked by its link.
      if (r.root) return false;
      continue;
    }
    if (replacing && r.root) continue;
    for (const f of required) if (!r.values.has(f.name)) return false;
  }
  return true;
}

/** Whether every command of the chunk can be written without a lookup (else the chunk takes the diagnosing path). */
export function qualifies(plan: OperationPlan, marks: IndexMarks): boolean {
  if (!plan.commands.length) return false;
  for (const c of plan.commands) if (c.kind !== 'upsert' || !commandQualifies(c, marks)) return false;
  return true;
}

interface Written {
  cmd: UpsertCommand;
  /** The command's rows (one per key). */
  rows: readonly UpsertRow[];
  keys: Key[];
  /** Positions in `rows` of the rows written (the others name records). */
  writing: number[];
  outcome: SetUpsertOutcome;
  /** By position in `writing`: 1 where the statement inserted or updated the row (else it was stored as sent). */
  changed: Uint8Array;
}

function changedMask(writing: number, outcome: SetUpsertOutcome): Uint8Array {
  const mask = new Uint8Array(writing);
  for (const p of outcome.inserted) mask[p] = 1;
  for (const p of outcome.updated) mask[p] = 1;
  return mask;
}

export interface HappyRun {
  sql: Sql;
  registry: Registry;
  known: RequestState;
  op: OperationState;
  /** CHUNK_SAVEPOINT was taken right before, nothing written since. */
  savepointTaken?: boolean;
  /** The plan of the chunk after this one, when it is planned already (its first table is encoded early). */
  upcoming?: () => OperationPlan | undefined;
}

/**
 * Writes the chunk; returns what it did, or no result after rolling it back when a check failed (the caller then
 * diagnoses), and how many tries it took. Nothing of the request's state changes before every statement of the
 * chunk succeeded.
 */
export async function writeChecked(run: HappyRun, plan: OperationPlan): Promise<{ result?: SyncResult; tries: number }> {
  let tries = 0;
  const result = await retryUnderSavepoint(run.sql, {
    name: CHUNK_SAVEPOINT,
    guarded: () => true,
    // The savepoint goes with the first try's stage preparation, in one round trip (or was taken with BEGIN).
    takenByCaller: true,
    leftOpen: true,
    attempt: async (n): Promise<TryOutcome<SyncResult | undefined>> => {
      tries = n + 1;
      if (n > 0) forgetResolutions(planRows(plan));
      const written = await writeAll(run, plan, n === 0 && !run.savepointTaken ? [savepoints.statement(CHUNK_SAVEPOINT)] : []);
      if (typeof written === 'string') return { savepoint: chunkFate({ written, attempt: n }), value: undefined };
      const summed = summary(written);
      // Records whose translation rows changed while their own row did not get a new version here, or the chunk
      // goes to the careful path (see touchOwners): still before any of the request's state changes.
      const owners = await touchOwners(run.sql, run.registry, summed, false);
      const fate = chunkFate({ written: 'ok', owners, attempt: n });
      return { savepoint: fate, value: fate === 'keep' ? await remember(run, written, summed) : undefined };
    },
  });
  // The careful path looks every reference up again and reports what cannot be found.
  if (!result) forgetResolutions(planRows(plan));
  return { result, tries };
}

/** Tries of a chunk whose inserts met rows another request inserted meanwhile, before the careful path. */
const MISSED_ATTEMPTS = 3;

/**
 * What becomes of the chunk's savepoint after a try: kept when its statements succeeded and the owners of changed
 * translation rows could be touched; undone (the careful path follows) after a failed check. A row neither found nor
 * inserted was inserted by another request meanwhile (the insert waited for it to commit): from the savepoint once
 * more, it is a stored row, locked in order with the others; one that still misses holds a unique value of another
 * record, which the careful path names.
 */
export function chunkFate(t: { written: 'failed' | 'missed' | 'ok'; owners?: boolean; attempt: number }): SavepointFate {
  if (t.written === 'ok') return t.owners ? 'keep' : 'undo';
  if (t.written === 'missed' && t.attempt + 1 < MISSED_ATTEMPTS) return 'again';
  return 'undo';
}

/**
 * The chunk's statements; 'failed' after a check failed, 'missed' when a row was neither found nor
 * inserted. `lead` (the chunk's savepoint) and the emptying of every stage the chunk's COPYs fill go first, in one
 * round trip: a stage emptied right before each COPY cost a round trip per table, each of them waiting for a service
 * busy planning the next chunk (2-14 ms each, measured).
 */
async function writeAll(run: HappyRun, plan: OperationPlan, lead: readonly string[]): Promise<Written[] | 'failed' | 'missed'> {
  const { sql, registry } = run;
  const target = targetIn(registry);
  const staged = new Set<EntityDef>();
  for (const c of plan.commands) if (usesStage(writtenCount(c as UpsertCommand))) staged.add(c.entity);
  const first = [...lead, ...[...staged].map((e) => stagePreparation(sql, e))];
  // Sent now and awaited before the first COPY: the first table's rows are encoded meanwhile.
  let leading = first.length ? sql.query(first.join(';\n')) : undefined;
  leading?.catch(() => undefined);
  const written: Written[] = [];
  // The table whose statement PostgreSQL runs while the next table's rows are encoded (one statement in flight).
  let inFlight: InFlight | undefined;
  const settle = async (): Promise<'failed' | 'missed' | undefined> => {
    await leading;
    leading = undefined;
    const fault = inFlight && (await landed(sql, inFlight, written));
    inFlight = undefined;
    return fault;
  };
  for (const c of plan.commands) {
    const cmd = c as UpsertCommand;
    const { entity } = cmd;
    let rows: readonly UpsertRow[] | undefined = cmd.rows;
    if (needsLookup(cmd)) {
      // Lookups must not run after a statement that failed: what was sent is settled first.
      const fault = await settle();
      if (fault) return fault;
      rows = await withKeys(sql, cmd);
      if (!rows) return 'failed';
    }
    const prepared = staged.delete(entity);
    const ready = takeEarly(plan, cmd);
    let table: TableInput;
    let statement: PreparedUpsert;
    if (ready && rows === cmd.rows && ready.input.prepared === prepared) ({ statement, ...table } = ready);
    else {
      table = tableInput(cmd, rows, { target, prepared });
      // Behind a statement in flight, every COPY Buffer is encoded while PostgreSQL runs it, and the COPY then never
      // waits for the service (a request of 20,000 products: its COPYs 214-341 → 156-224 ms). The first table's are
      // encoded as its COPY pulls them (unless encoded early, see prepareEarly).
      try {
        statement = prepareUpsertSet(table.input, inFlight !== undefined);
      } catch (e) {
        // The statement before may have failed first: its fault is the one to report.
        const fault = await settle();
        if (fault) return fault;
        throw e;
      }
    }
    const { input, keys, writing } = table;
    const fault = await settle();
    if (fault) return fault;
    try {
      inFlight = { input, cmd, rows, keys, writing, outcome: (await statement.send(sql)).outcome };
    } catch (e) {
      // A COPY failed (a value its column's type refuses): the chunk takes the diagnosing path, as after a statement.
      if (!isConstraintFault(e) && !isLockBusy(e)) throw e;
      return 'failed';
    }
  }
  // While PostgreSQL runs the chunk's last statement, the next chunk's first table is encoded.
  if (inFlight) prepareEarly(run);
  return (await settle()) ?? written;
}

/**
 * Encodes the next chunk's first table (table-input.ts, EarlyTable), when that chunk is planned already, its first
 * command needs no lookup and no try of this chunk encoded it before: whatever that chunk then does, it only saves
 * work. Any error here is left for that chunk's own write to meet and report, not this chunk's.
 */
function prepareEarly({ registry, known, upcoming }: HappyRun): void {
  try {
    const next = upcoming?.();
    if (!next || hasEarly(next) || !qualifies(next, known.marks)) return;
    const cmd = next.commands[0] as UpsertCommand;
    if (needsLookup(cmd)) return;
    const table = tableInput(cmd, cmd.rows, { target: targetIn(registry), prepared: usesStage(writtenCount(cmd)) });
    keepEarly(next, { ...table, cmd, statement: prepareUpsertSet(table.input, true) });
  } catch {
    // Met again by the next chunk's own write.
  }
}

/** A table's statement sent, its answer not yet read. */
interface InFlight extends Omit<Written, 'outcome' | 'changed'> {
  input: SetUpsert;
  outcome: Promise<SetUpsertOutcome>;
}

/**
 * Reads a sent statement's answer into `written`: 'failed' after a check failed, or a trigger would have waited for a
 * record another request holds (upsert-set's LOCK_NOWAIT); 'missed' when rows another request inserted meanwhile could
 * not be written once more.
 */
async function landed(sql: Sql, sent: InFlight, written: Written[]): Promise<'failed' | 'missed' | undefined> {
  let outcome: SetUpsertOutcome;
  try {
    outcome = await sent.outcome;
  } catch (e) {
    if (!isConstraintFault(e) && !isLockBusy(e)) throw e;
    return 'failed';
  }
  if (outcome.missed.length) {
    const settled = await writeMissed(sql, sent.input, outcome);
    if (!settled) return 'missed';
    outcome = settled;
  }
  const { cmd, rows, keys, writing } = sent;
  written.push({ cmd, rows, keys, writing, outcome, changed: changedMask(writing.length, outcome) });
  return undefined;
}

/**
 * The rows another request inserted while the statement ran (its insert waited for that request to commit, so they
 * are stored now), written once more as stored rows: updated where they differ, left as they are where they do not.
 * They are locked after the chunk's other rows, out of key order, so without waiting: a row another request holds
 * now, a failed check or a row still missing (a unique value of another record) leaves it to the caller, which runs
 * the chunk again from its savepoint. Mixed imports whose new keys overlap met this on most chunks, and ran each of
 * them up to three times before the careful path.
 */
async function writeMissed(sql: Sql, input: SetUpsert, first: SetUpsertOutcome): Promise<SetUpsertOutcome | undefined> {
  let again: SetUpsertOutcome;
  try {
    // The stage still holds the first statement's rows: it is emptied again before these (prepared: false).
    again = await upsertSet(sql, { ...input, prepared: false, rows: first.missed.map((p) => input.rows[p]!), nowait: true });
  } catch (e) {
    if (isConstraintFault(e) || isLockBusy(e)) return undefined;
    throw e;
  }
  if (again.missed.length) return undefined;
  const at = (p: number) => first.missed[p]!;
  return {
    inserted: [...first.inserted, ...again.inserted.map(at)].sort((a, b) => a - b),
    updated: [...first.updated, ...again.updated.map(at)].sort((a, b) => a - b),
    missed: [],
  };
}

/**
 * The rows of a command that needsLookup with every key known. Records named by externalId or matchBy, and references
 * by resolver, are looked up first (one query per entity and key, as on the careful path); the rows are read through
 * ResolvedValues, so that the plan keeps its pending references for another attempt without a copy of every row. Rows
 * that turn out to name the same record are merged (planning merged rows of one key already; only resolved keys can
 * still meet). Undefined when a reference cannot be resolved: the careful path reports it.
 */
async function withKeys(sql: Sql, cmd: UpsertCommand): Promise<readonly UpsertRow[] | undefined> {
  const problems: Problem[] = [];
  await settleReferences(sql, cmd, problems);
  if (problems.length || cmd.rows.some(holdsFailed)) return undefined;
  return mergeSameKey(cmd.entity, cmd.rows.map((r) => ({ ...r, values: new ResolvedValues(r.values) })));
}

/**
 * Fields that may hold a reference still to be resolved: a record's own id and its foreign keys. Planning puts a
 * PendingRef nowhere else (plan.ts, plan-keys.ts), and the loader holds keys, links and `via` fields to those kinds.
 */
const keyFieldCache = new WeakMap<EntityDef, readonly string[]>();
function keyFields(entity: EntityDef): readonly string[] {
  let names = keyFieldCache.get(entity);
  if (!names) keyFieldCache.set(entity, (names = entity.fieldList.filter((f) => f.kind === 'id' || f.kind === 'fk').map((f) => f.name)));
  return names;
}

/** Whether the command's rows name records or references to look up before the write (withKeys). */
function needsLookup(cmd: UpsertCommand): boolean {
  const refs = keyFields(cmd.entity);
  return cmd.rows.some((r) => pending(refs, r));
}

function pending(fields: readonly string[], row: UpsertRow): boolean {
  for (const f of fields) if (row.values.get(f) instanceof PendingRef) return true;
  return false;
}

/** What the chunk did: the records it lists, and those it found stored as sent. */
function summary(written: readonly Written[]): SyncResult {
  const result = new SyncResult();
  for (const { cmd, keys, writing, changed } of written) {
    result.addWritten(cmd.entity, writing.length === keys.length ? keys : writing.map((i) => keys[i]!), (p) => !changed[p]);
  }
  return result;
}

/** What the chunk did, into the request's state (keys, names for `missing`, indexing marks). */
async function remember(run: HappyRun, written: readonly Written[], result: SyncResult): Promise<SyncResult> {
  const { sql, known, op } = run;
  for (const { cmd, rows, keys, writing, outcome, changed } of written) {
    const { entity } = cmd;
    for (const k of keys) known.keys.add(entity, k);
    if (cmd.isRootEntity && cmd.keepsNames) for (let i = 0; i < rows.length; i++) if (rows[i]!.root) op.named.add(keyString(entity, keys[i]!));
    const keyOf = (p: number) => keys[writing[p]!]!;
    await known.marks.before(sql, entity, outcome.updated.map(keyOf));
    const after: Key[] = [];
    for (let p = 0; p < changed.length; p++) if (changed[p]) after.push(keyOf(p));
    await known.marks.after(sql, entity, after);
  }
  return result;
}
