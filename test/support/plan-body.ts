import type { Registry } from '../../src/definitions/registry';
import type { Problem } from '../../src/errors';
import { planChunk, planOperationEnd } from '../../src/sync/plan/plan';
import { Problems } from '../../src/sync/plan/plan-context';
import { parseOperation } from '../../src/sync/operation-header';
import type { Operation, OperationPlan } from '../../src/sync/types';

export type PlannedBody = { plans: OperationPlan[]; problems?: undefined } | { plans?: undefined; problems: Problem[] };

/**
 * A keyed body planned whole, without a database: each operation's header as the endpoint reads it, then its
 * payload as one chunk and its end (missing, criteria). The endpoint streams the same steps chunk by chunk
 * (SyncPipeline); this lets the planning be tested on its own.
 */
export function planBody(body: Record<string, unknown>, registry: Registry): PlannedBody {
  const headerProblems: Problem[] = [];
  const operations: Operation[] = [];
  for (const [key, raw] of Object.entries(body)) {
    const parsed = parseOperation(key, raw, registry);
    headerProblems.push(...parsed.problems);
    if (parsed.operation) operations.push(parsed.operation);
  }
  if (headerProblems.length) return { problems: headerProblems };
  const problems = new Problems();
  const plans: OperationPlan[] = operations.map((op) => {
    const commands = op.payload ? planChunk({ registry, op, records: op.payload, firstIndex: 0, problems }) : [];
    commands.push(...planOperationEnd(registry, op, problems));
    return { operation: op, commands };
  });
  return problems.list.length ? { problems: problems.list } : { plans };
}
