import type { Registry } from '../definitions/registry';
import type { IndexingRequest } from '../indexing/behavior';
import type { IndexerSet } from '../indexing/registry';
import { indexerLock } from '../indexing/types';
import type { OperationPlan } from './types';

/** Entities whose records the plans may change: upserts that carry data, and deletes with what their rules reach. */
function changedEntities(registry: Registry, plans: readonly OperationPlan[]): Set<string> {
  const changed = new Set<string>();
  const withDependants = (name: string) => {
    if (changed.has(name)) return;
    changed.add(name);
    for (const ref of registry.referencing(name)) if (ref.onDelete !== 'restrict') withDependants(ref.entity);
  };
  for (const plan of plans) {
    for (const cmd of plan.commands) {
      if (cmd.kind === 'upsert') {
        const pk = new Set(cmd.entity.primaryKey);
        if (cmd.entity.isMapping || cmd.rows.some((r) => [...r.values.keys()].some((f) => !pk.has(f)))) changed.add(cmd.entity.name);
      } else if (cmd.kind === 'missing' && !cmd.delete) changed.add(cmd.entity.name);
      else withDependants(cmd.entity.name);
    }
  }
  return changed;
}

/**
 * The indexer locks a transaction takes before its first write: those of the indexers it will run inline that
 * rewrite records beyond the ones it changes (a renamed category's descendants). Two such transactions then run one
 * after the other instead of each holding rows the other's indexer needs. A request that only links to categories
 * changes none and takes none.
 */
export function indexerLocks(registry: Registry, plans: readonly OperationPlan[], indexers: IndexerSet, indexing: IndexingRequest): string[] {
  if (indexing.mode !== 'inline') return [];
  const changed = changedEntities(registry, plans);
  return indexers.all.filter((ix) => !indexing.skip.has(ix.name) && ix.contendedBy.some((e) => changed.has(e))).map((ix) => indexerLock(ix.name));
}
