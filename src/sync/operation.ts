import type { Sql } from '../db/sql';
import type { Registry } from '../definitions/registry';
import { MAX_REPORTED_ERRORS, type Problem } from '../errors';
import { SyncResult } from './result';
import { runDelete, runMissing } from './run-delete';
import { runUpsert, type CommandOutcome } from './run-upsert';
import type { Attempt, OperationState, RequestState } from './state';
import type { OperationPlan } from './types';

/** One operation: its commands in order. After a problem, later commands are still resolved but not written. */
export async function runOperation(
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
    let outcome: CommandOutcome = 'ok';
    if (cmd.kind === 'upsert') outcome = await runUpsert(sql, registry, cmd, known, state, result, problems, writable);
    else if (cmd.kind === 'missing') {
      if (writable) outcome = await runMissing(sql, registry, cmd, known, state, result, problems);
    } else outcome = await runDelete(sql, registry, cmd, known, result, problems, writable);
    if (outcome === 'aborted') return { result, problems, aborted: true };
  }
  return { result, problems };
}
