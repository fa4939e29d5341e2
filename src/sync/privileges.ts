import type { Registry } from '../definitions/registry';
import { pointer, type Problem } from '../errors';
import type { OperationPlan } from './types';

/** Entities a delete of `entity` can take with it through cascade rules (the entity itself included). */
export function cascadeClosure(registry: Registry, entity: string): string[] {
  const seen = new Set([entity]);
  const queue = [entity];
  while (queue.length) {
    const e = queue.shift()!;
    for (const ref of registry.referencing(e)) {
      if (ref.onDelete === 'cascade' && !seen.has(ref.entity)) {
        seen.add(ref.entity);
        queue.push(ref.entity);
      }
    }
  }
  return [...seen];
}

/**
 * The privileges a planned request needs, each with the first operation that needs it: `<entity>:upsert` for
 * every entity written (nested records and mapping rows included), `<entity>:delete` for every entity deleted,
 * together with every entity its cascade rules can reach (checked before anything runs, so that nothing of a
 * forbidden request is written).
 */
export function requiredPrivileges(registry: Registry, plans: readonly OperationPlan[]): Map<string, string> {
  const needed = new Map<string, string>();
  const need = (privilege: string, op: string) => {
    if (!needed.has(privilege)) needed.set(privilege, op);
  };
  for (const { commands } of plans) {
    for (const c of commands) {
      if (c.kind === 'upsert' || (c.kind === 'missing' && !c.delete)) need(`${c.entity.name}:upsert`, c.op);
      else for (const e of cascadeClosure(registry, c.entity.name)) need(`${e}:delete`, c.op);
    }
  }
  return needed;
}

export function forbidden(missing: readonly string[], needed: ReadonlyMap<string, string>): Problem[] {
  return missing.map((privilege) => ({
    code: 'FORBIDDEN',
    detail: `the integration lacks the privilege ${privilege} (needed by operation "${needed.get(privilege)}")`,
    pointer: pointer(needed.get(privilege)!),
    meta: { operation: needed.get(privilege), privilege },
  }));
}
