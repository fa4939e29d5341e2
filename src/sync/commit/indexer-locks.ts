import type { Registry } from '../../definitions/registry';
import type { IndexingRequest } from '../../indexing/behavior';
import type { IndexerSet } from '../../indexing/registry';
import { indexerLock } from '../../indexing/types';
import type { NamedLock } from '../../write/locks';
import type { OperationPlan } from '../types';

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
 * The indexer locks a transaction takes before its first write. An indexer that rewrites records beyond the ones a
 * request changed (a renamed category's descendants, the products below a moved category) does so after the
 * request's own writes, so it would take row locks out of key order against requests writing those records. Hence:
 * - a request that runs such an indexer inline (it changes an entity of `contendedBy`) holds the indexer's lock
 *   exclusively for its whole transaction;
 * - a request that writes records the indexer may rewrite (its entity, or an entity of `contendedBy`), in any
 *   indexing mode, holds it shared.
 * Requests of the second kind run side by side; one of the first kind runs alone among them. A request that only
 * links to categories changes none of these entities and takes nothing.
 */
export function indexerLocks(registry: Registry, plans: readonly OperationPlan[], indexers: IndexerSet, indexing: IndexingRequest): NamedLock[] {
  const changed = changedEntities(registry, plans);
  const locks: NamedLock[] = [];
  for (const ix of indexers.all) {
    if (!ix.contendedBy.length) continue;
    const contended = ix.contendedBy.some((e) => changed.has(e));
    if (contended && indexing.mode === 'inline' && !indexing.skip.has(ix.name)) locks.push({ name: indexerLock(ix.name), mode: 'exclusive' });
    else if (contended || changed.has(ix.entity.name)) locks.push({ name: indexerLock(ix.name), mode: 'shared' });
  }
  return locks;
}
