import type { Sql } from '../db/sql';
import type { Registry } from '../definitions/registry';
import type { EntityDef } from '../definitions/types';
import { idColumn, newNode, type RecordNode } from './records';
import { selectByIds, selectByOwners, type AssociationQuery } from './sql/associations';
import type { DbRow, Selection } from './types';

/**
 * Loads the associations of `selection` for `nodes`, one query per association path whatever the number of
 * records (many-to-one: `WHERE id = ANY`, one-to-many: `WHERE fk = ANY`, many-to-many: one join through the
 * mapping), then recurses into nested associations with the records just loaded.
 */
export async function loadAssociations(sql: Sql, registry: Registry, selection: Selection, nodes: readonly RecordNode[]): Promise<void> {
  if (!nodes.length) return;
  for (const [name, { association, selection: sub }] of selection.associations) {
    const q: AssociationQuery = { sql, registry, owner: selection.entity, target: registry.get(association.entity), association, sub };
    const loaded = await loadOne(q, nodes, name);
    await loadAssociations(sql, registry, sub, loaded);
  }
}

function distinct(values: readonly unknown[]): string[] {
  return [...new Set(values.filter((v): v is string => typeof v === 'string'))];
}

/** Loads one association for every node; returns the distinct related records (to recurse into). */
async function loadOne(q: AssociationQuery, nodes: readonly RecordNode[], name: string): Promise<RecordNode[]> {
  const { owner, target, association } = q;
  const byId = new Map<string, RecordNode>();
  const remember = rememberer(target, byId);

  if (association.type === 'manyToOne') {
    const via = owner.fields[association.via]!.column;
    const ids = distinct(nodes.map((n) => n.row[via]));
    if (ids.length) (await selectByIds(q, ids)).forEach(remember);
    for (const n of nodes) {
      const fk = n.row[via];
      n.related.set(name, typeof fk === 'string' ? (byId.get(fk) ?? null) : null);
    }
    return [...byId.values()];
  }

  const ownerIds = distinct(nodes.map((n) => n.row[idColumn(owner)]));
  const groups = new Map<string, RecordNode[]>();
  for (const row of await selectByOwners(q, ownerIds)) push(groups, String(row.__owner), remember(row));
  const ownerId = idColumn(owner);
  for (const n of nodes) n.related.set(name, groups.get(String(n.row[ownerId])) ?? []);
  return [...byId.values()];
}

/**
 * One node per record of `target`, however many owners share it. The target of a one-to-many may be keyed by
 * several columns (a mapping entity such as product_category): a record is known by all of them.
 */
function rememberer(target: EntityDef, byId: Map<string, RecordNode>): (row: DbRow) => RecordNode {
  const keyColumns = target.primaryKey.map((k) => target.fields[k]!.column);
  return (row) => {
    const id = keyColumns.map((c) => String(row[c])).join('|');
    let node = byId.get(id);
    if (!node) byId.set(id, (node = newNode(row)));
    return node;
  };
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
