import type { Problem } from '../errors';
import type { Aggregation } from '../criteria/aggregations';
import type { Selection } from './types';

/**
 * Whether the caller may read an entity (`<entity>:read`). The HTTP edge decides; this module only asks.
 * Until authentication is built, the routes pass OPEN_ACCESS.
 */
export type ReadAccess = (entity: string) => boolean;

export const OPEN_ACCESS: ReadAccess = () => true;

/** Every entity a selection reads: the root, each association's target, and the mapping a many-to-many goes through. */
export function selectionEntities(selection: Selection): string[] {
  // Translations are read with the privilege of the record they translate.
  const out = new Set([selection.entity.translates ?? selection.entity.name]);
  for (const { association, selection: sub } of selection.associations.values()) {
    if (association.type === 'manyToMany') out.add(association.mapping);
    for (const e of selectionEntities(sub)) out.add(e);
  }
  return [...out];
}

/** Every entity aggregations read beyond the searched one: association targets, mappings, entity definitions. */
export function aggregationEntities(aggregations: readonly Aggregation[]): string[] {
  const out = new Set<string>();
  const visit = (a: Aggregation) => {
    if ('path' in a && a.path.via) {
      const { association, target } = a.path.via;
      if (association.type === 'manyToMany') out.add(association.mapping);
      // A many-to-many aggregated by the target's id reads the mapping only; the target is read all the same
      // for any other field, and naming it keeps the rule simple: an association path needs its target.
      out.add(target.translates ?? target.name);
    }
    if (a.type === 'entity') out.add(a.definition.translates ?? a.definition.name);
    if ('nested' in a && a.nested) visit(a.nested);
  };
  aggregations.forEach(visit);
  return [...out];
}

/** FORBIDDEN naming each missing privilege (empty: all readable); nothing is read when one is missing. */
export function missingPrivileges(access: ReadAccess, entities: readonly string[]): Problem[] {
  return entities
    .filter((e) => !access(e))
    .map((e) => ({ code: 'FORBIDDEN', detail: `the integration lacks the privilege ${e}:read`, meta: { privilege: `${e}:read` } }));
}
