import type { Registry } from '../definitions/registry';
import { pointer, type Problem } from '../errors';
import type { OperationPlan } from './types';

/** Translations are part of the record they translate: writing or deleting them takes that entity's privilege. */
export function privilegeEntity(registry: Registry, entity: string): string {
  return registry.find(entity)?.translates ?? entity;
}

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
 * What a delete of `entity` may do to other rows, from the delete rules alone (whether rows are affected this time
 * or not): `<e>:delete` for every entity of its cascade closure, and `<e>:upsert` for every entity whose foreign key
 * a `set null` rule clears when a record of that closure goes (a deleted manufacturer changes its products).
 */
export function deletePrivileges(registry: Registry, entity: string): string[] {
  const closure = cascadeClosure(registry, entity);
  const out = closure.map((e) => `${privilegeEntity(registry, e)}:delete`);
  for (const e of closure) {
    for (const ref of registry.referencing(e)) if (ref.onDelete === 'set null') out.push(`${privilegeEntity(registry, ref.entity)}:upsert`);
  }
  return [...new Set(out)];
}

/**
 * The privileges a planned request needs, each with the first operation that needs it: `<entity>:upsert` for
 * every entity written (nested records and mapping rows included), and for a delete what `deletePrivileges`
 * lists (checked before anything runs, so that nothing of a forbidden request is written).
 */
export function requiredPrivileges(registry: Registry, plans: readonly OperationPlan[]): Map<string, string> {
  const needed = new Map<string, string>();
  const need = (privilege: string, op: string) => {
    if (!needed.has(privilege)) needed.set(privilege, op);
  };
  for (const { commands } of plans) {
    for (const c of commands) {
      if (c.kind === 'upsert' || (c.kind === 'missing' && !c.delete)) need(`${privilegeEntity(registry, c.entity.name)}:upsert`, c.op);
      else for (const p of deletePrivileges(registry, c.entity.name)) need(p, c.op);
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
