import { pointer, type Problem } from '../../errors';
import { savepoints } from '../../write/savepoints';
import { runOperation } from './operation';
import { SyncResult } from '../result';
import type { ChunkRun } from './state';
import type { OperationPlan } from '../types';

const MAX_ATTEMPTS = 20;

/** What a part of an operation runs against, and where its results go. */
export interface PartialRun extends ChunkRun {
  result: SyncResult;
}

/**
 * Partial success for a chunk of one operation's records: they are written set-wise; records that fail are dropped
 * (with everything nested in them) and the rest is written again. The failures are counted in the operation's state.
 */
export async function runRecordsPartially(run: PartialRun, plan: OperationPlan): Promise<Problem[]> {
  const errors = await runRecords(run, plan);
  run.op.failed += new Set(errors.map((e) => e.meta?.index).filter((i) => typeof i === 'number')).size || (errors.length ? 1 : 0);
  return errors;
}

/**
 * What partial success runs after an operation's records: a delete by criteria, or the snapshot clear. The clear runs
 * only if no record of the operation failed: a record that failed is not written, yet the payload named it, so the
 * records inside `within` that the payload did not name can no longer be told apart. Clearing them anyway would
 * clear (or delete) records the client sent.
 */
export async function runEndPartially(run: PartialRun, plan: OperationPlan): Promise<Problem[]> {
  const missing = plan.commands.some((c) => c.kind === 'missing');
  if (missing && run.op.failed > 0) {
    return [
      {
        code: 'MISSING_SKIPPED',
        detail: `${run.op.failed} record(s) of this operation failed, so the records it did not name cannot be told from those it could not write; nothing was cleared. Resend the snapshot once they are fixed.`,
        pointer: pointer(plan.operation.key, 'missing'),
        meta: { operation: plan.operation.key, entity: plan.operation.entity.name },
      },
    ];
  }
  return underSavepoint(run, missing ? 'bulksync_missing' : 'bulksync_op', plan);
}

async function runRecords(run: PartialRun, plan: OperationPlan): Promise<Problem[]> {
  const errors: Problem[] = [];
  const failed = new Set<number>();
  let current = plan;
  for (let attempt = 0; ; attempt++) {
    const problems = await underSavepoint(run, 'bulksync_op', current);
    if (!problems.length) return errors;
    const out = { problems };
    if (out.problems.every((p) => p.meta?.unattributed === true)) {
      // The database refused something no record can be blamed for by value: go record by record.
      errors.push(...(await runOneByOne(run, current)));
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

/** The slow path of partial success: each payload record alone under its own savepoint. */
async function runOneByOne(run: PartialRun, plan: OperationPlan): Promise<Problem[]> {
  const errors: Problem[] = [];
  const indexes = new Set<number>();
  for (const c of plan.commands) {
    if (c.kind === 'upsert') for (const r of c.rows) indexes.add(r.ref.index);
    if (c.kind === 'delete') for (const k of c.keys) indexes.add(k.ref.index);
  }
  const tail = plan.commands.filter((c) => c.kind === 'deleteWhere');
  const parts: OperationPlan[] = [...indexes].sort((a, b) => a - b).map((i) => {
    const others = new Set([...indexes].filter((j) => j !== i));
    const only = withoutRecords(plan, others);
    return { operation: plan.operation, commands: only.commands.filter((c) => c.kind === 'upsert' || c.kind === 'delete') };
  });
  if (tail.length) parts.push({ operation: plan.operation, commands: tail });
  for (const part of parts) {
    const problems = await underSavepoint(run, 'bulksync_record', part);
    if (problems.length) {
      const out = { problems };
      const index = part.commands.flatMap((c) => (c.kind === 'upsert' ? c.rows.map((r) => r.ref.index) : c.kind === 'delete' ? c.keys.map((k) => k.ref.index) : []))[0];
      for (const p of out.problems) {
        if (p.meta?.unattributed && index !== undefined) {
          errors.push({ ...p, pointer: pointer(plan.operation.key, index), meta: { operation: plan.operation.key, entity: plan.operation.entity.name, index } });
        } else errors.push(p);
      }
    }
  }
  return errors;
}

/**
 * One try of (part of) an operation under a savepoint: without problems it is kept, and what it did joins the
 * request's state and result; with problems it is rolled back and they are returned.
 */
async function underSavepoint(run: PartialRun, savepoint: string, plan: OperationPlan): Promise<Problem[]> {
  const { sql, registry, known, op, result, onWritePath } = run;
  const keys = known.clone();
  await savepoints.begin(sql, savepoint);
  const out = await runOperation({ sql, registry, known: keys, op, onWritePath }, plan, false);
  if (out.problems.length) {
    // Also after a failed statement: rolling back to the savepoint makes the transaction usable again.
    await savepoints.undo(sql, savepoint);
    return out.problems;
  }
  await savepoints.keep(sql, savepoint);
  known.adopt(keys);
  result.merge(out.result);
  return [];
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
