import { ident, type Sql } from '../db/sql';
import { readSource } from '../definitions/sql/translated';
import type { Registry } from '../definitions/registry';
import type { AssociationDef, EntityDef } from '../definitions/types';
import { columnsFor, idColumn, newNode, type RecordNode } from './records';
import type { Selection } from './types';

/**
 * Loads the associations of `selection` for `nodes`, one query per association path whatever the number of
 * records (many-to-one: `WHERE id = ANY`, one-to-many: `WHERE fk = ANY`, many-to-many: one join through the
 * mapping), then recurses into nested associations with the records just loaded.
 */
export async function loadAssociations(sql: Sql, registry: Registry, selection: Selection, nodes: readonly RecordNode[]): Promise<void> {
  if (!nodes.length) return;
  for (const [name, { association, selection: sub }] of selection.associations) {
    const target = registry.get(association.entity);
    const loaded = await loadOne(sql, registry, selection.entity, target, association, sub, nodes, name);
    await loadAssociations(sql, registry, sub, loaded);
  }
}

function distinct(values: readonly unknown[]): string[] {
  return [...new Set(values.filter((v): v is string => typeof v === 'string'))];
}

function select(sub: Selection, alias: string): string {
  return columnsFor(sub).map((c) => `${alias}.${ident(c)}`).join(', ');
}

/** Loads one association for every node; returns the distinct related records (to recurse into). */
async function loadOne(
  sql: Sql,
  registry: Registry,
  owner: EntityDef,
  target: EntityDef,
  association: AssociationDef,
  sub: Selection,
  nodes: readonly RecordNode[],
  name: string,
): Promise<RecordNode[]> {
  // The target of a one-to-many may be keyed by several columns (a mapping entity such as product_category): a
  // record is known by all of them.
  const keyColumns = target.primaryKey.map((k) => target.fields[k]!.column);
  const byId = new Map<string, RecordNode>();
  const remember = (row: Record<string, unknown>): RecordNode => {
    const id = keyColumns.map((c) => String(row[c])).join('|');
    let node = byId.get(id);
    if (!node) byId.set(id, (node = newNode(row)));
    return node;
  };

  if (association.type === 'manyToOne') {
    const via = owner.fields[association.via]!.column;
    const ids = distinct(nodes.map((n) => n.row[via]));
    if (ids.length) {
      const { rows } = await sql.query(
        `SELECT ${select(sub, 't')} FROM ${readSource(target, sub.language)} t WHERE t.${ident(idColumn(target))} = ANY($1::uuid[])`,
        [ids],
      );
      rows.forEach(remember);
    }
    for (const n of nodes) {
      const fk = n.row[via];
      n.related.set(name, typeof fk === 'string' ? (byId.get(fk) ?? null) : null);
    }
    return [...byId.values()];
  }

  const ownerIds = distinct(nodes.map((n) => n.row[idColumn(owner)]));
  const groups = new Map<string, RecordNode[]>();
  if (association.type === 'oneToMany') {
    const fk = target.fields[association.foreignKey]!.column;
    const { rows } = await sql.query(
      `SELECT ${select(sub, 't')}, t.${ident(fk)} AS __owner FROM ${readSource(target, sub.language)} t
        WHERE t.${ident(fk)} = ANY($1::uuid[]) ORDER BY ${keyColumns.map((c) => `t.${ident(c)}`).join(', ')}`,
      [ownerIds],
    );
    for (const row of rows) push(groups, String(row.__owner), remember(row));
  } else {
    const mapping = registry.get(association.mapping);
    const local = mapping.fields[association.localKey]!.column;
    const remote = mapping.fields[association.targetKey]!.column;
    const { rows } = await sql.query(
      `SELECT ${select(sub, 't')}, m.${ident(local)} AS __owner FROM ${ident(mapping.table)} m
         JOIN ${readSource(target, sub.language)} t ON t.${ident(idColumn(target))} = m.${ident(remote)}
        WHERE m.${ident(local)} = ANY($1::uuid[]) ORDER BY t.${ident(idColumn(target))}`,
      [ownerIds],
    );
    for (const row of rows) push(groups, String(row.__owner), remember(row));
  }
  const ownerId = idColumn(owner);
  for (const n of nodes) n.related.set(name, groups.get(String(n.row[ownerId])) ?? []);
  return [...byId.values()];
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
