import type { Registry } from '../definitions/registry';
import { isObject } from '../definitions/json';
import type { AssociationDef, EntityDef } from '../definitions/types';
import { pointer, showValue, type Problem } from '../errors';
import type { Selection } from './types';

/** Association paths nest at most this deep ("categories.parent.parent" is 3). */
export const MAX_ASSOCIATION_DEPTH = 4;
/** At most this many association paths per request: each costs one query. */
export const MAX_ASSOCIATIONS = 20;

interface Draft {
  entity: EntityDef;
  fieldNames?: Set<string>;
  children: Map<string, { association: AssociationDef; draft: Draft }>;
}

export type SelectionResult = { ok: true; selection: Selection } | { ok: false; problems: Problem[] };


/**
 * Builds what to answer from `associations` (a list of dotted paths such as "categories.parent", or Shopware's
 * object form `{ "categories": { "associations": { "parent": {} } } }`) and `fields` (dotted field paths such as
 * "name" or "tax.taxRate"; a path through an association loads it). Without `fields`, every readable field is
 * answered; with it, the root answers the fields it lists, an association all of its fields unless paths into it
 * name some. The primary key always is answered. Problems point at `/associations/…` and `/fields/…` under `at`.
 */
export function buildSelection(registry: Registry, entity: EntityDef, { associations, fields }: { associations: unknown; fields: unknown }, at = ''): SelectionResult {
  const problems: Problem[] = [];
  const bad = (where: string, detail: string) => problems.push({ code: 'CRITERIA_INVALID', detail, pointer: where });
  const root: Draft = { entity, children: new Map() };
  let paths = 0;

  /** Walks (and creates) the association nodes of `segments`; undefined after reporting a problem. */
  const walk = (segments: readonly string[], where: string): Draft | undefined => {
    let node = root;
    for (const [depth, name] of segments.entries()) {
      let child = node.children.get(name);
      if (!child) {
        const association = node.entity.associations[name];
        if (!association) return void bad(where, `${node.entity.name} has no association "${name}"`);
        if (depth >= MAX_ASSOCIATION_DEPTH) return void bad(where, `associations nest at most ${MAX_ASSOCIATION_DEPTH} levels deep`);
        if (++paths > MAX_ASSOCIATIONS) return void bad(where, `at most ${MAX_ASSOCIATIONS} associations per request`);
        child = { association, draft: { entity: registry.get(association.entity), children: new Map() } };
        node.children.set(name, child);
      }
      node = child.draft;
    }
    return node;
  };

  const dotted = (v: unknown, where: string): string[] | undefined => {
    if (typeof v !== 'string' || !/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/.test(v)) {
      return void bad(where, `expected a name or a dotted path such as "categories.parent", got ${showValue(v)}`);
    }
    return v.split('.');
  };

  const objectForm = (tree: Record<string, unknown>, prefix: string[], where: string) => {
    for (const [name, nested] of Object.entries(tree)) {
      const here = where + pointer(name);
      if (!walk([...prefix, name], here)) continue;
      if (nested === null || (isObject(nested) && Object.keys(nested).length === 0)) continue;
      if (!isObject(nested)) {
        bad(here, 'expected an object (criteria of the association)');
        continue;
      }
      for (const key of Object.keys(nested)) {
        if (key !== 'associations') bad(here + pointer(key), `"${key}" inside an association is not supported; only nested "associations" are`);
      }
      if (nested.associations === undefined) continue;
      if (!isObject(nested.associations)) bad(here + pointer('associations'), 'expected an object of association names');
      else objectForm(nested.associations, [...prefix, name], here + pointer('associations'));
    }
  };

  const assocAt = at + pointer('associations');
  if (Array.isArray(associations)) {
    associations.forEach((a, i) => {
      const segments = dotted(a, assocAt + pointer(i));
      if (segments) walk(segments, assocAt + pointer(i));
    });
  } else if (isObject(associations)) {
    objectForm(associations, [], assocAt);
  } else if (associations !== undefined) {
    bad(assocAt, 'expected a list of association names (or Shopware\'s object form)');
  }

  const fieldsAt = at + pointer('fields');
  if (Array.isArray(fields)) {
    if (!fields.length) bad(fieldsAt, 'expected a non-empty list of field names (leave "fields" out to answer every field)');
    // With "fields", the root answers only what it lists (and its key); an association answers all of its
    // fields unless a path such as "tax.name" names some of them.
    root.fieldNames = new Set();
    fields.forEach((f, i) => {
      const where = fieldsAt + pointer(i);
      const segments = dotted(f, where);
      if (!segments) return;
      const node = walk(segments.slice(0, -1), where);
      if (!node) return;
      const name = segments[segments.length - 1]!;
      const field = node.entity.fields[name];
      if (!field || !field.readable) return void bad(where, `${node.entity.name} has no readable field "${name}"`);
      (node.fieldNames ??= new Set()).add(name);
    });
  } else if (fields !== undefined) {
    bad(fieldsAt, 'expected a list of field names');
  }

  if (problems.length) return { ok: false, problems };
  return { ok: true, selection: finish(root) };
}

function finish(draft: Draft): Selection {
  const { entity, fieldNames } = draft;
  const fields = entity.fieldList.filter(
    (f) => f.readable && (!fieldNames || fieldNames.has(f.name) || entity.primaryKey.includes(f.name)),
  );
  const associations = new Map([...draft.children].map(([name, c]) => [name, { association: c.association, selection: finish(c.draft) }]));
  return { entity, fields, associations };
}

/** The same selection answering translated fields in `language` (with the default language as fallback), nested ones too. */
export function inLanguage(selection: Selection, language: string | undefined): Selection {
  if (language === undefined) return selection;
  const associations = new Map([...selection.associations].map(([n, a]) => [n, { association: a.association, selection: inLanguage(a.selection, language) }]));
  return { ...selection, associations, language };
}

/** Every readable field, no associations: what GET answers by default. */
export function fullSelection(entity: EntityDef): Selection {
  return { entity, fields: entity.fieldList.filter((f) => f.readable), associations: new Map() };
}
