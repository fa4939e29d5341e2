import type { Knex } from 'knex';
import { withTransaction, type Sql } from '../db/sql';
import { toApiId } from '../definitions/ids';
import { kindOf } from '../definitions/kinds';
import type { Registry } from '../definitions/registry';
import { ApiError, MAX_REPORTED_ERRORS, pointer, type Problem } from '../errors';
import { classifyDbError } from '../write/db-errors';
import { deleteKeys, lockExisting, lockMatching, planCascade } from '../write/delete';
import { keyString, type Key } from '../write/keys';
import { insertRows, updateRows, type WriteRow } from '../write/upsert';
import { refPointer } from './plan';
import { applyIndexing, type IndexingRequest } from '../indexing/behavior';
import { IndexMarks } from '../indexing/marks';
import type { IndexerSet } from '../indexing/registry';
import { RequestKeys, resolveUpsert, type ResolvedRow } from './resolve';
import { SyncResult } from './result';
import type { DeleteByCriteriaCommand, DeleteByKeysCommand, MissingCommand, OperationPlan, UpsertCommand } from './types';

export interface ExecuteOptions {
  retries: number;
  failOnError: boolean;
  indexers: IndexerSet;
  indexing: IndexingRequest;
  /** Attempts of a queued indexing job before it is dead-lettered. */
  indexingMaxAttempts: number;
  onRetry?: (attempt: number, error: unknown) => void;
}

export interface ExecuteOutcome {
  result: SyncResult;
  /** Problems of the records that were rolled back (only with failOnError = false). */
  errors: Problem[];
  /** What was done about indexing: inline, queued <n>, disabled. */
  indexing: string;
}

/** What the request has done so far that later operations build on; copied per attempt in partial mode. */
class RequestState {
  constructor(
    readonly keys: RequestKeys,
    readonly marks: IndexMarks,
  ) {}
  clone(): RequestState {
    return new RequestState(this.keys.clone(), this.marks.clone());
  }
  adopt(other: RequestState): void {
    this.keys.adopt(other.keys);
    this.marks.adopt(other.marks);
  }
}

/** State of one operation that outlives a rolled-back attempt. */
interface OperationState {
  /** Keys of the operation's own records: `missing` leaves them alone, even those that failed. */
  named: Set<string>;
}

interface Attempt {
  result: SyncResult;
  problems: Problem[];
}

/**
 * Runs the planned operations in request order inside one transaction.
 * All or nothing (default): lookups of every command run even after a failure, so the response lists every
 * problem; nothing is committed unless all pass.
 * Partial (failOnError = false): each operation runs under a savepoint; records that fail are dropped with
 * their nested records and the operation is run again without them, so the fast set-based path stays the path.
 */
export async function executePlans(knex: Knex, registry: Registry, plans: readonly OperationPlan[], opts: ExecuteOptions): Promise<ExecuteOutcome> {
  return withTransaction(
    knex,
    async (sql) => {
      const result = new SyncResult();
      const known = new RequestState(new RequestKeys(), new IndexMarks(opts.indexers, opts.indexing.skip));
      const errors: Problem[] = [];
      for (const plan of plans) {
        if (plan.operation.mode === 'create-only') result.reportSkipped();
        const state: OperationState = { named: new Set() };
        if (opts.failOnError) {
          const attempt = await runOperation(sql, registry, plan, known, state, errors.length > 0);
          errors.push(...attempt.problems);
          result.merge(attempt.result);
          if (errors.length >= MAX_REPORTED_ERRORS) break;
        } else {
          errors.push(...(await runPartially(sql, registry, plan, known, state, result)));
        }
      }
      if (opts.failOnError && errors.length) throw new ApiError(errors);
      const indexing = await applyIndexing(sql, known.marks, opts.indexing, opts.indexers, opts.indexingMaxAttempts);
      return { result, errors: errors.slice(0, MAX_REPORTED_ERRORS), indexing };
    },
    opts,
  );
}

const MAX_ATTEMPTS = 20;

async function runPartially(
  sql: Sql,
  registry: Registry,
  plan: OperationPlan,
  known: RequestState,
  state: OperationState,
  result: SyncResult,
): Promise<Problem[]> {
  const errors: Problem[] = [];
  const failed = new Set<number>();
  let current = plan;
  for (let attempt = 0; ; attempt++) {
    const keys = known.clone();
    await sql.query('SAVEPOINT bulksync_op');
    const out = await runOperation(sql, registry, current, keys, state, false).catch((e: unknown) => {
      if (e instanceof ApiError) return { result: new SyncResult(), problems: e.problems };
      throw e;
    });
    if (!out.problems.length) {
      await sql.query('RELEASE SAVEPOINT bulksync_op');
      known.adopt(keys);
      result.merge(out.result);
      return errors;
    }
    await sql.query('ROLLBACK TO SAVEPOINT bulksync_op');
    if (out.problems.every((p) => p.meta?.unattributed === true)) {
      // The database refused something no record can be blamed for by value: go record by record.
      errors.push(...(await runOneByOne(sql, registry, current, known, state, result)));
      return errors;
    }
    const newly = new Set(out.problems.filter((p) => p.meta?.operation === plan.operation.key && typeof p.meta.index === 'number' && p.meta.index >= 0).map((p) => p.meta!.index as number));
    if (!newly.size || attempt >= MAX_ATTEMPTS) {
      // A problem of the operation itself (criteria, missing), or one that cannot be pinned to a record.
      errors.push(...out.problems);
      return errors;
    }
    for (const p of out.problems) {
      const i = p.meta?.index;
      if (typeof i === 'number' && newly.has(i) && !p.meta?.unattributed) errors.push(p);
    }
    for (const i of newly) failed.add(i);
    current = withoutRecords(plan, failed);
  }
}

/** The slow path of partial success: each payload record alone under its own savepoint, then `missing`. */
async function runOneByOne(
  sql: Sql,
  registry: Registry,
  plan: OperationPlan,
  known: RequestState,
  state: OperationState,
  result: SyncResult,
): Promise<Problem[]> {
  const errors: Problem[] = [];
  const indexes = new Set<number>();
  for (const c of plan.commands) {
    if (c.kind === 'upsert') for (const r of c.rows) indexes.add(r.ref.index);
    if (c.kind === 'delete') for (const k of c.keys) indexes.add(k.ref.index);
  }
  const tail = plan.commands.filter((c) => c.kind === 'missing' || c.kind === 'deleteWhere');
  const parts: OperationPlan[] = [...indexes].sort((a, b) => a - b).map((i) => {
    const others = new Set([...indexes].filter((j) => j !== i));
    const only = withoutRecords(plan, others);
    return { operation: plan.operation, commands: only.commands.filter((c) => c.kind === 'upsert' || c.kind === 'delete') };
  });
  if (tail.length) parts.push({ operation: plan.operation, commands: tail });
  for (const part of parts) {
    const keys = known.clone();
    await sql.query('SAVEPOINT bulksync_record');
    const out = await runOperation(sql, registry, part, keys, state, false).catch((e: unknown) => {
      if (e instanceof ApiError) return { result: new SyncResult(), problems: e.problems };
      throw e;
    });
    if (out.problems.length) {
      await sql.query('ROLLBACK TO SAVEPOINT bulksync_record');
      const index = part.commands.flatMap((c) => (c.kind === 'upsert' ? c.rows.map((r) => r.ref.index) : c.kind === 'delete' ? c.keys.map((k) => k.ref.index) : []))[0];
      for (const p of out.problems) {
        if (p.meta?.unattributed && index !== undefined) {
          errors.push({ ...p, pointer: pointer(plan.operation.key, index), meta: { operation: plan.operation.key, entity: plan.operation.entity.name, index } });
        } else errors.push(p);
      }
    } else {
      await sql.query('RELEASE SAVEPOINT bulksync_record');
      known.adopt(keys);
      result.merge(out.result);
    }
  }
  return errors;
}

/** The plan minus the payload records at `failed` indexes, together with everything nested in them. */
export function withoutRecords(plan: OperationPlan, failed: ReadonlySet<number>): OperationPlan {
  return {
    operation: plan.operation,
    commands: plan.commands.map((c) => {
      if (c.kind === 'upsert') return { ...c, rows: c.rows.filter((r) => !failed.has(r.ref.index)) };
      if (c.kind === 'delete') return { ...c, keys: c.keys.filter((k) => !failed.has(k.ref.index)) };
      return c;
    }),
  };
}

/** One operation: its commands in order. After a problem, later commands are still resolved but not written. */
async function runOperation(
  sql: Sql,
  registry: Registry,
  plan: OperationPlan,
  known: RequestState,
  state: OperationState,
  alreadyFailing: boolean,
): Promise<Attempt> {
  const result = new SyncResult();
  const problems: Problem[] = [];
  for (const cmd of plan.commands) {
    if (problems.length >= MAX_REPORTED_ERRORS) break;
    const writable = !alreadyFailing && !problems.length;
    if (cmd.kind === 'upsert') await runUpsert(sql, registry, cmd, known, state, result, problems, writable);
    else if (cmd.kind === 'missing') {
      if (writable) await runMissing(sql, registry, cmd, known, state, result, problems);
    } else await runDelete(sql, registry, cmd, known, result, problems, writable);
  }
  return { result, problems };
}

/** Re-runs of a command whose new keys another transaction committed meanwhile, before falling back to DO UPDATE. */
const NEW_KEY_RETRIES = 3;

async function runUpsert(
  sql: Sql,
  registry: Registry,
  cmd: UpsertCommand,
  state: RequestState,
  op: OperationState,
  result: SyncResult,
  problems: Problem[],
  writable: boolean,
): Promise<void> {
  const { entity } = cmd;
  const pk = new Set(entity.primaryKey);
  const hasFields = entity.fieldList.some((f) => !pk.has(f.name) && !f.writeProtected);
  for (let attempt = 0; ; attempt++) {
    // Existing rows are locked in key order, then new rows inserted in key order. A new key that another transaction
    // commits in between must not be locked out of that order (that is how concurrent imports deadlock): new rows go
    // in with DO NOTHING, and when a key turned up meanwhile the command runs again from this savepoint, now seeing
    // it as existing and locking it in order with the others.
    const guarded = writable && hasFields && attempt < NEW_KEY_RETRIES;
    if (guarded) await sql.query('SAVEPOINT bulksync_cmd');
    const resolved = await resolveUpsert(sql, registry, cmd, state.keys);
    if (cmd.isRootEntity) for (const r of resolved.rows) if (r.row.root) op.named.add(keyString(entity, r.key));
    if (resolved.problems.length || !writable) {
      if (guarded) await sql.query('RELEASE SAVEPOINT bulksync_cmd');
      problems.push(...resolved.problems);
      return;
    }
    const hasData = (r: ResolvedRow) => [...r.row.values.keys()].some((f) => !pk.has(f));
    const fresh = resolved.rows.filter((r) => !r.exists);
    let existing = resolved.rows.filter((r) => r.exists);
    const skipped = cmd.mode === 'create-only' ? existing.filter((r) => r.row.root || hasData(r)) : [];
    if (cmd.mode === 'create-only') existing = [];
    const toWrite = (r: ResolvedRow): WriteRow => ({ key: r.key, values: r.row.values });
    const updates = cmd.mode === 'replace' && cmd.isRootEntity ? existing.map((r) => replaced(cmd, r)) : existing.map(toWrite);
    try {
      const inserted = await insertRows(sql, entity, fresh.map(toWrite), guarded || !hasFields ? 'nothing' : 'update');
      if (guarded && inserted < fresh.length) {
        await sql.query('ROLLBACK TO SAVEPOINT bulksync_cmd');
        continue;
      }
      await state.marks.before(sql, entity, updates.map((u) => u.key));
      await updateRows(sql, entity, updates);
    } catch (e) {
      throw dbProblem(e, cmd, resolved.rows);
    }
    if (guarded) await sql.query('RELEASE SAVEPOINT bulksync_cmd');
    result.add('skipped', entity, skipped.map((r) => r.key));
    const written = [...fresh, ...existing];
    await state.marks.after(sql, entity, written.map((r) => r.key));
    const order = new Map(resolved.rows.map((r, i) => [r, i]));
    written.sort((a, b) => order.get(a)! - order.get(b)!);
    result.add('data', entity, written.filter((r) => r.row.root || entity.isMapping || hasData(r)).map((r) => r.key));
    return;
  }
}

/** mode replace: every writable field the record leaves out goes back to its default, or null. */
function replaced(cmd: UpsertCommand, r: ResolvedRow): WriteRow {
  const values = new Map(r.row.values);
  for (const f of cmd.entity.fieldList) {
    if (f.writeProtected || cmd.entity.primaryKey.includes(f.name) || values.has(f.name)) continue;
    values.set(f.name, f.default === undefined ? null : kindOf(f).toDb(f.default));
  }
  return { key: r.key, values };
}

/** A database error during a write, pinned to the record carrying the offending value when it can be found. */
function dbProblem(e: unknown, cmd: UpsertCommand, rows: readonly ResolvedRow[]): unknown {
  const fault = classifyDbError(e, 'write');
  if (!fault) return e;
  const field = cmd.entity.fieldList.find((f) => f.column === fault.column);
  const culprit = field && fault.value !== undefined ? rows.find((r) => String(r.row.values.get(field.name)) === fault.value) : undefined;
  return new ApiError({
    code: fault.code,
    detail: field ? fault.detail.replace(field.column, field.name) : fault.detail,
    pointer: culprit ? refPointer(culprit.row.ref, ...(field ? [field.name] : [])) : pointer(cmd.op),
    meta: culprit
      ? { operation: cmd.op, entity: cmd.entity.name, index: culprit.row.ref.index }
      : { operation: cmd.op, entity: cmd.entity.name, unattributed: true },
  });
}

async function runDelete(
  sql: Sql,
  registry: Registry,
  cmd: DeleteByKeysCommand | DeleteByCriteriaCommand,
  state: RequestState,
  result: SyncResult,
  problems: Problem[],
  writable: boolean,
): Promise<void> {
  const { entity } = cmd;
  let roots: { key: Key; index: number }[];
  if (cmd.kind === 'delete') {
    const found = new Set((await lockExisting(sql, entity, cmd.keys.map((k) => k.key))).map((k) => keyString(entity, k)));
    const missing: Key[] = [];
    const seen = new Set<string>();
    roots = [];
    for (const { key, ref } of cmd.keys) {
      const ks = keyString(entity, key);
      if (seen.has(ks)) continue;
      seen.add(ks);
      if (found.has(ks)) roots.push({ key, index: ref.index });
      else missing.push(key);
    }
    result.add('notFound', entity, missing);
  } else {
    roots = (await lockMatching(sql, entity, cmd.filters)).map((key) => ({ key, index: -1 }));
  }
  const at = (index: number) => (index >= 0 ? pointer(cmd.op, index) : pointer(cmd.op, 'criteria'));
  await deleteWithRules(sql, registry, state, cmd.op, entity.name, roots, at, result, problems, writable);
}

/** Deletes roots after checking the delete rules: restrict → FK_RESTRICT per blocked root, cascades reported. */
async function deleteWithRules(
  sql: Sql,
  registry: Registry,
  state: RequestState,
  op: string,
  entityName: string,
  roots: { key: Key; index: number }[],
  at: (index: number) => string,
  result: SyncResult,
  problems: Problem[],
  writable: boolean,
): Promise<void> {
  if (!roots.length) return;
  const entity = registry.get(entityName);
  const cascade = await planCascade(sql, registry, entity, roots);
  for (const r of cascade.restricted) {
    problems.push({
      code: 'FK_RESTRICT',
      detail: `${entity.name} ${toApiId(r.referenced)} is still referenced by ${r.entity}.${r.field} (delete rule restrict); delete or re-point those records first`,
      pointer: at(r.rootIndex),
      meta: { operation: op, entity: entity.name, ...(r.rootIndex >= 0 ? { index: r.rootIndex } : {}), referencedBy: r.entity },
    });
  }
  if (cascade.restricted.length || problems.length || !writable) return;
  const gone: [string, Key[]][] = [[entity.name, roots.map((r) => r.key)], ...cascade.cascaded];
  for (const [name, keys] of gone) await state.marks.before(sql, registry.get(name), keys);
  try {
    await deleteKeys(sql, entity, roots.map((r) => r.key));
  } catch (e) {
    const fault = classifyDbError(e, 'delete');
    if (!fault) throw e;
    throw new ApiError({ code: fault.code, detail: fault.detail, pointer: pointer(op), meta: { operation: op, entity: entity.name, unattributed: true } });
  }
  for (const [name, keys] of gone) await state.marks.after(sql, registry.get(name), keys);
  result.add('deleted', entity, roots.map((r) => r.key));
  for (const [name, keys] of cascade.cascaded) result.add('deleted', registry.get(name), keys);
}

/** The snapshot clear: records inside `within` that the payload did not name get `set`, or are deleted. */
async function runMissing(
  sql: Sql,
  registry: Registry,
  cmd: MissingCommand,
  state: RequestState,
  op: OperationState,
  result: SyncResult,
  problems: Problem[],
): Promise<void> {
  const { entity } = cmd;
  const inside = await lockMatching(sql, entity, cmd.filters);
  const unnamed = inside.filter((k) => !op.named.has(keyString(entity, k)));
  if (cmd.delete) {
    const at = () => pointer(cmd.op, 'missing');
    await deleteWithRules(sql, registry, state, cmd.op, entity.name, unnamed.map((key) => ({ key, index: -1 })), at, result, problems, true);
    return;
  }
  await state.marks.before(sql, entity, unnamed);
  try {
    await updateRows(sql, entity, unnamed.map((key) => ({ key, values: cmd.set! })));
  } catch (e) {
    const fault = classifyDbError(e, 'write');
    if (!fault) throw e;
    throw new ApiError({ code: fault.code, detail: fault.detail, pointer: pointer(cmd.op, 'missing', 'set'), meta: { operation: cmd.op, entity: entity.name, unattributed: true } });
  }
  await state.marks.after(sql, entity, unnamed);
  result.add('data', entity, unnamed);
}
