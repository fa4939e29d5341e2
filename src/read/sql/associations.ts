import { ident, type Sql } from '../../db/sql';
import { readSource } from '../../definitions/sql/translated';
import type { Registry } from '../../definitions/registry';
import type { AssociationDef, EntityDef } from '../../definitions/types';
import { columnsFor, idColumn } from '../records';
import type { DbRow, Selection } from '../types';

/** What one association query needs: where it starts (owner), where it goes (target, sub) and by which ids. */
export interface AssociationQuery {
  sql: Sql;
  registry: Registry;
  owner: EntityDef;
  target: EntityDef;
  association: AssociationDef;
  sub: Selection;
}

function select(sub: Selection, alias: string): string {
  return columnsFor(sub).map((c) => `${alias}.${ident(c)}`).join(', ');
}

/** Many-to-one: the targets whose id is one of `ids` (the owners' foreign keys). */
export async function selectByIds(q: AssociationQuery, ids: readonly string[]): Promise<DbRow[]> {
  const { target, sub } = q;
  const { rows } = await q.sql.query(
    `SELECT ${select(sub, 't')} FROM ${readSource(target, sub.language)} t WHERE t.${ident(idColumn(target))} = ANY($1::uuid[])`,
    [ids],
  );
  return rows;
}

/**
 * One-to-many and many-to-many: the targets of every owner in `ownerIds`, each row carrying its owner's id as
 * `__owner`, in key order (the order answers list them in).
 */
export async function selectByOwners(q: AssociationQuery, ownerIds: readonly string[]): Promise<DbRow[]> {
  const { target, sub, association } = q;
  if (association.type === 'oneToMany') {
    const fk = target.fields[association.foreignKey]!.column;
    const keys = target.primaryKey.map((k) => `t.${ident(target.fields[k]!.column)}`).join(', ');
    const { rows } = await q.sql.query(
      `SELECT ${select(sub, 't')}, t.${ident(fk)} AS __owner FROM ${readSource(target, sub.language)} t
        WHERE t.${ident(fk)} = ANY($1::uuid[]) ORDER BY ${keys}`,
      [ownerIds],
    );
    return rows;
  }
  if (association.type !== 'manyToMany') throw new Error(`selectByOwners: ${association.type} is loaded by selectByIds`);
  const mapping = q.registry.get(association.mapping);
  const local = mapping.fields[association.localKey]!.column;
  const remote = mapping.fields[association.targetKey]!.column;
  const { rows } = await q.sql.query(
    `SELECT ${select(sub, 't')}, m.${ident(local)} AS __owner FROM ${ident(mapping.table)} m
       JOIN ${readSource(target, sub.language)} t ON t.${ident(idColumn(target))} = m.${ident(remote)}
      WHERE m.${ident(local)} = ANY($1::uuid[]) ORDER BY t.${ident(idColumn(target))}`,
    [ownerIds],
  );
  return rows;
}
