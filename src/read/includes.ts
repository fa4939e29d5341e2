import { isObject } from '../definitions/json';
import type { Registry } from '../definitions/registry';
import type { EntityDef } from '../definitions/types';
import { pointer, showValue, type Problem } from '../errors';
import type { Includes, Selection } from './types';

export type { Includes };

/**
 * Shopware's `includes`: per entity (by name), the keys its records answer — fields, loaded associations and
 * `translated` — wherever a record of that entity appears (the list, nested associations, entity aggregations).
 * An entity not named answers everything it loads. Unlike `fields`, includes load nothing: name an association
 * in `associations` to have it, and in the owner's includes to answer it.
 */

export type IncludesResult = { ok: true; includes?: Includes } | { ok: false; problems: Problem[] };

export function parseIncludes(registry: Registry, input: unknown, at: string): IncludesResult {
  if (input === undefined) return { ok: true };
  const problems: Problem[] = [];
  const bad = (where: string, detail: string) => void problems.push({ code: 'CRITERIA_INVALID', detail, pointer: where });
  if (!isObject(input)) return { ok: false, problems: [{ code: 'CRITERIA_INVALID', detail: 'expected { "<entity>": ["<field>", …] }', pointer: at }] };
  const out = new Map<string, Set<string>>();
  for (const [name, keys] of Object.entries(input)) {
    const where = at + pointer(name);
    const entity = registry.find(name);
    if (!entity) {
      bad(where, `no entity "${name}"`);
      continue;
    }
    if (!Array.isArray(keys) || !keys.length) {
      bad(where, 'expected a non-empty list of field and association names');
      continue;
    }
    const set = new Set<string>();
    keys.forEach((k, i) => {
      if (typeof k === 'string' && answerable(entity, k)) set.add(k);
      else bad(where + pointer(i), `${entity.name} answers no ${showValue(k)} (its readable fields, associations, "translated")`);
    });
    out.set(name, set);
  }
  return problems.length ? { ok: false, problems } : { ok: true, includes: out };
}

function answerable(entity: EntityDef, key: string): boolean {
  if (key === 'translated') return Boolean(entity.translation);
  return Boolean(entity.fields[key]?.readable || entity.associations[key]);
}

/** The selection with each node of an included entity limited to its keys. */
export function withIncludes(selection: Selection, includes: Includes | undefined): Selection {
  if (!includes) return selection;
  const associations = new Map([...selection.associations].map(([n, a]) => [n, { association: a.association, selection: withIncludes(a.selection, includes) }]));
  return { ...selection, associations, includes: includes.get(selection.entity.name) ?? selection.includes };
}
