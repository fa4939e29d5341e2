import { MAX_REPORTED_ERRORS, type Problem } from '../../errors';
import { qualifies, writeChecked } from './happy-path';
import { SyncResult } from '../result';
import { runDelete, runMissing } from './run-delete';
import { runUpsert, type CommandOutcome } from './run-upsert';
import type { Attempt, ChunkRun, CommandRun, WritePath } from './state';
import type { OperationPlan } from '../types';

/** What an operation (or a part of one) runs against. */
export interface OperationRun extends ChunkRun {
  /** The chunk's savepoint was taken with BEGIN (see happy-path.ts). */
  savepointTaken?: boolean;
  /** The plan of the chunk after this one, when it is planned already. */
  upcoming?: () => OperationPlan | undefined;
}

/**
 * The path a run of an operation took: `checked` tells how the statements went (undefined: the run did not qualify
 * for them), `tries` how many times the chunk ran from its savepoint.
 */
export function writePath(checked: { written: boolean; tries: number } | undefined): WritePath {
  if (!checked) return 'looked_up';
  if (!checked.written) return 'diagnosed';
  return checked.tries > 1 ? 'checked_again' : 'checked';
}

/** One operation: its commands in order. After a problem, later commands are still resolved but not written. */
export async function runOperation({ sql, registry, known, op, savepointTaken, onWritePath, upcoming }: OperationRun, plan: OperationPlan, alreadyFailing: boolean): Promise<Attempt> {
  // Records PostgreSQL can check by itself are written without a lookup; when a check fails, the chunk is rolled
  // back and takes the path below, which finds and names what failed.
  let checked: { written: boolean; tries: number } | undefined;
  let written: SyncResult | undefined;
  if (!alreadyFailing && qualifies(plan, known.marks)) {
    const tried = await writeChecked({ sql, registry, known, op, savepointTaken, upcoming }, plan);
    written = tried.result;
    checked = { written: Boolean(written), tries: tried.tries };
  }
  // An upsert's own end chunk often holds no command: nothing was written, by any path.
  if (!alreadyFailing && plan.commands.length) onWritePath?.(writePath(checked));
  if (written) return { result: written, problems: [] };
  const result = new SyncResult();
  const problems: Problem[] = [];
  for (const cmd of plan.commands) {
    if (problems.length >= MAX_REPORTED_ERRORS) break;
    const run: CommandRun = { sql, registry, known, op, result, problems, writable: !alreadyFailing && !problems.length };
    let outcome: CommandOutcome = 'ok';
    if (cmd.kind === 'upsert') outcome = await runUpsert(run, cmd);
    else if (cmd.kind === 'missing') {
      if (run.writable) outcome = await runMissing(run, cmd);
    } else outcome = await runDelete(run, cmd);
    if (outcome === 'aborted') return { result, problems, aborted: true };
  }
  return { result, problems };
}
