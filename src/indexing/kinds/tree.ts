import { ident, type Sql } from '../../db/sql';
import type { EntityDef, IndexerDef } from '../../definitions/types';
import type { Key } from '../../write/keys';
import type { Indexer } from '../types';
import { col, idsOf, keysetBatch, pkCol } from './common';

type TreeDef = Extract<IndexerDef, { type: 'tree' }>;

/**
 * A self-referencing tree (categories): path (ids of the ancestors, root first), level (root = 1), breadcrumb
 * (labels from the root) of each record and all its descendants; child counts of the parents, old and new.
 */
export function treeIndexer(entity: EntityDef, def: TreeDef): Indexer {
  const t = ident(entity.table);
  const id = pkCol(entity);
  const parent = col(entity, def.parent);
  return {
    name: def.name,
    entity,
    listens: [entity.name],
    // A record that moves or goes away changes its old parent's child count.
    async before(sql, changed, keys) {
      if (changed.name !== entity.name || !keys.length) return [];
      const { rows } = await sql.query<{ p: string }>(
        `SELECT DISTINCT ${parent} AS p FROM ${t} WHERE ${id} = ANY($1::uuid[]) AND ${parent} IS NOT NULL`,
        [idsOf(entity, keys)],
      );
      return rows.map((r) => String(r.p));
    },
    async after(_sql, changed, keys: readonly Key[]) {
      return changed.name === entity.name ? idsOf(entity, keys) : [];
    },
    async index(sql: Sql, ids) {
      if (!ids.length) return;
      // Everything below the changed records is re-derived top-down from the nearest unchanged ancestor; the
      // recursive parts use UNION or a depth bound, so a cycle written by a client cannot make them loop.
      if (def.path || def.level || def.breadcrumb) {
        await sql.query(
          `WITH RECURSIVE
             down AS (SELECT ${id} AS id, ${parent} AS parent FROM ${t} WHERE ${id} = ANY($1::uuid[])
                      UNION SELECT c.${id}, c.${parent} FROM ${t} c JOIN down d ON c.${parent} = d.id),
             top AS (SELECT id, parent FROM down WHERE parent IS NULL OR parent NOT IN (SELECT id FROM down)),
             up AS (SELECT top.id AS node, top.parent AS cur, 1 AS depth FROM top WHERE top.parent IS NOT NULL
                    UNION ALL SELECT up.node, p.${parent}, up.depth + 1 FROM up JOIN ${t} p ON p.${id} = up.cur
                    WHERE p.${parent} IS NOT NULL AND up.depth < 256),
             top_path AS (SELECT top.id, COALESCE((SELECT array_agg(up.cur ORDER BY up.depth DESC) FROM up WHERE up.node = top.id), '{}'::uuid[]) AS path FROM top),
             tree AS (SELECT id, path FROM top_path
                      UNION ALL SELECT c.${id}, tree.path || c.${parent} FROM ${t} c JOIN tree ON c.${parent} = tree.id
                      WHERE cardinality(tree.path) < 256)
           UPDATE ${t} SET ${[
             def.path ? `${col(entity, def.path)} = tree.path` : '',
             def.level ? `${col(entity, def.level)} = cardinality(tree.path) + 1` : '',
           ]
             .filter(Boolean)
             .join(', ') || `${id} = ${t}.${id}`}
           FROM tree WHERE ${t}.${id} = tree.id`,
          [ids],
        );
      }
      if (def.breadcrumb && def.label) {
        const label = col(entity, def.label);
        const path = def.path ? col(entity, def.path) : undefined;
        if (path) {
          await sql.query(
            `WITH RECURSIVE down AS (SELECT ${id} AS id FROM ${t} WHERE ${id} = ANY($1::uuid[])
                                     UNION SELECT c.${id} FROM ${t} c JOIN down d ON c.${parent} = d.id)
             UPDATE ${t} SET ${col(entity, def.breadcrumb)} = (
               SELECT jsonb_agg(a.${label} ORDER BY p.ord) FROM unnest(COALESCE(${t}.${path}, '{}'::uuid[]) || ${t}.${id}) WITH ORDINALITY AS p(id, ord)
               JOIN ${t} a ON a.${id} = p.id)
             WHERE ${t}.${id} IN (SELECT id FROM down)`,
            [ids],
          );
        }
      }
      if (def.childCount) {
        await sql.query(
          `UPDATE ${t} SET ${col(entity, def.childCount)} = (SELECT count(*) FROM ${t} c WHERE c.${parent} = ${t}.${id})
           WHERE ${id} = ANY($1::uuid[]) OR ${id} IN (SELECT ${parent} FROM ${t} WHERE ${id} = ANY($1::uuid[]))`,
          [ids],
        );
      }
    },
    batch: (sql, after, size) => keysetBatch(sql, entity, after, size),
  };
}
