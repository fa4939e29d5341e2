import type { Problem } from '../errors';
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

/** FORBIDDEN naming each missing privilege (empty: all readable); nothing is read when one is missing. */
export function missingPrivileges(access: ReadAccess, entities: readonly string[]): Problem[] {
  return entities
    .filter((e) => !access(e))
    .map((e) => ({ code: 'FORBIDDEN', detail: `the integration lacks the privilege ${e}:read`, meta: { privilege: `${e}:read` } }));
}
