/**
 * Privileges are `entity:action`: `product:upsert`, `product:delete`, `product:read`, with `*` for any entity or
 * action (`*:*` is the admin). Non-entity actions use pseudo entities: `indexing:run` queues a full re-index.
 */
export const ACTIONS = ['upsert', 'delete', 'read', 'run'] as const;

export type Privilege = string;

export function parsePrivileges(list: string, knownEntities: readonly string[]): { ok: true; value: Privilege[] } | { ok: false; error: string } {
  const out: Privilege[] = [];
  for (const raw of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [entity, action, extra] = raw.split(':');
    if (!entity || !action || extra !== undefined) return { ok: false, error: `"${raw}" is not entity:action` };
    if (entity !== '*' && entity !== 'indexing' && !knownEntities.includes(entity)) return { ok: false, error: `"${raw}": unknown entity ${entity}` };
    if (action !== '*' && !(ACTIONS as readonly string[]).includes(action)) return { ok: false, error: `"${raw}": action must be one of ${ACTIONS.join(', ')} or *` };
    out.push(`${entity}:${action}`);
  }
  if (!out.length) return { ok: false, error: 'no privileges given' };
  return { ok: true, value: out };
}

export function allows(privileges: readonly Privilege[], entity: string, action: string): boolean {
  return privileges.some((p) => {
    const [e, a] = p.split(':');
    return (e === '*' || e === entity) && (a === '*' || a === action);
  });
}

/** The privileges of `needed` that `privileges` does not grant, sorted. */
export function missing(privileges: readonly Privilege[], needed: Iterable<Privilege>): Privilege[] {
  return [...new Set(needed)].filter((n) => {
    const [e, a] = n.split(':');
    return !allows(privileges, e!, a!);
  }).sort();
}
